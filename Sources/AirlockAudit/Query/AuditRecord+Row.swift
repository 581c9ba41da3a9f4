import Foundation
import NIOCore
import PostgresNIO

/// Reading stored rows back into `AuditRecord`s, with timestamps as exact microseconds.
extension AuditRecord {
    /// Select list matching `init(row:)`.
    static let selectColumns = """
        tenant_id, received_at, chain_id, seq, event_id, kind, key_id, request_id, endpoint, requested_model, provider, \
        region, route_reason, decision, rule_ids, policy_version, entity_types, entity_counts, fingerprints, prompt_tokens, \
        cached_prompt_tokens, completion_tokens, reasoning_tokens, cost_usd, avoided_cost_usd, first_byte_at, completed_at, \
        latency_ms, status, error_code, client_address, actor, target, details, payload_digest, prev_hash, hash, redacted, \
        content_digest, redaction_mac
        """

    /// A stored row: the record plus its retention state.
    struct Stored {
        var record: AuditRecord
        var redacted: Bool
        var contentDigest: [UInt8]?
        var redactionMAC: [UInt8]?
    }

    static func decodeStored(_ row: PostgresRow) throws -> Stored {
        var r = RowReader(iterator: row.makeIterator())
        let tenantID: String = try r.next()
        let received: PostgresMicros = try r.next()
        let chainID: String = try r.next()
        let seq: Int64 = try r.next()
        let eventID: UUID = try r.next()
        let kind: Int16 = try r.next()
        let record = AuditRecord(
            chainID: chainID, seq: seq, eventID: eventID, kind: UInt8(truncatingIfNeeded: kind), tenantID: tenantID,
            keyID: try r.next(), requestID: try r.next(), endpoint: try r.next(), requestedModel: try r.next(),
            provider: try r.next(), region: try r.next(), routeReason: try r.next(), decision: try r.next(),
            ruleIDs: try r.next(), policyVersion: try r.next(), entityTypes: try r.next(), entityCounts: try r.next(),
            fingerprints: try r.next(), promptTokens: try r.next(), cachedPromptTokens: try r.next(),
            completionTokens: try r.next(), reasoningTokens: try r.next(), costUSD: try r.next(), avoidedCostUSD: try r.next(),
            receivedAt: received.value, firstByteAt: (try r.next() as PostgresMicros?)?.value,
            completedAt: (try r.next() as PostgresMicros?)?.value, latencyMs: try r.next(), status: try r.next(),
            errorCode: try r.next(), clientAddress: try r.next(), actor: try r.next(), target: try r.next(),
            details: try r.next(), payloadDigest: (try r.next() as ByteBuffer?).map { Array(buffer: $0) },
            prevHash: Array(buffer: try r.next() as ByteBuffer), hash: Array(buffer: try r.next() as ByteBuffer))
        let redacted: Bool = try r.next()
        let digest: ByteBuffer? = try r.next()
        let mac: ByteBuffer? = try r.next()
        return Stored(record: record, redacted: redacted, contentDigest: digest.map { Array(buffer: $0) }, redactionMAC: mac.map { Array(buffer: $0) })
    }
}

struct RowReader {
    var iterator: PostgresRow.Iterator
    mutating func next<T: PostgresDecodable>(_: T.Type = T.self) throws -> T {
        guard let cell = iterator.next() else { throw PostgresDecodingError.Code.missingData }
        return try cell.decode(T.self)
    }
}
