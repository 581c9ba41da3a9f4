import AirlockCore
import Foundation

/// An event as stored: sealed into its chain (chain id, sequence, previous hash, hash), with
/// every field in the exact form the database holds, so the hash can be recomputed from a row.
/// Timestamps are microseconds since the Unix epoch (PostgreSQL's precision).
public struct AuditRecord: Sendable, Equatable {
    public var chainID: String
    public var seq: Int64
    public var eventID: UUID
    public var kind: UInt8
    public var tenantID: String
    public var keyID: String?
    public var requestID: String
    public var endpoint: String
    public var requestedModel: String?
    public var provider: String?
    public var region: String?
    public var routeReason: String?
    public var decision: String
    public var ruleIDs: [String]
    public var policyVersion: Int64?
    /// Entity type names, sorted, parallel to `entityCounts`.
    public var entityTypes: [String]
    public var entityCounts: [Int64]
    public var fingerprints: [String]
    public var promptTokens: Int64?
    public var cachedPromptTokens: Int64?
    public var completionTokens: Int64?
    public var reasoningTokens: Int64?
    public var costUSD: Double?
    public var avoidedCostUSD: Double?
    public var receivedAt: Int64
    public var firstByteAt: Int64?
    public var completedAt: Int64?
    public var latencyMs: Int64?
    public var status: Int64?
    public var errorCode: String?
    public var clientAddress: String?
    public var actor: String?
    public var target: String?
    /// Admin details as canonical JSON (sorted keys), or nil.
    public var details: String?
    /// SHA-256 over the encrypted payload boxes, when bodies were captured.
    public var payloadDigest: [UInt8]?
    public var prevHash: [UInt8]
    public var hash: [UInt8]

    public static let zeroHash = [UInt8](repeating: 0, count: 32)

    public var receivedDate: Date { Date(micros: receivedAt) }
}

extension AuditRecord {
    /// Builds the unsealed record (hashes empty) for `event` at `seq` of `chainID`.
    init(event: AuditEvent, chainID: String, seq: Int64, payloadDigest: [UInt8]?) {
        let entities = event.entityCounts.filter { $0.value > 0 }.sorted { $0.key.rawValue < $1.key.rawValue }
        let received = event.receivedAt.micros
        let completed = event.completedAt?.micros
        let t = Self.storable
        self.init(
            chainID: t(chainID), seq: seq, eventID: event.id, kind: event.kind.rawValue, tenantID: t(event.tenantID),
            keyID: event.keyID.map(t), requestID: t(event.requestID), endpoint: t(event.endpoint), requestedModel: event.requestedModel.map(t),
            provider: event.provider.map(t), region: event.region.map(t), routeReason: event.routeReason.map(t), decision: event.decision.rawValue,
            ruleIDs: event.firedRuleIDs.map(t), policyVersion: event.policyVersion.map(Int64.init),
            entityTypes: entities.map(\.key.rawValue), entityCounts: entities.map { Int64($0.value) },
            fingerprints: event.fingerprints.map(t),
            promptTokens: event.usage.map { Int64($0.promptTokens) }, cachedPromptTokens: event.usage.map { Int64($0.cachedPromptTokens) },
            completionTokens: event.usage.map { Int64($0.completionTokens) }, reasoningTokens: event.usage.map { Int64($0.reasoningTokens) },
            costUSD: event.costUSD.flatMap { $0.isFinite ? $0 : nil }, avoidedCostUSD: event.avoidedCostUSD.flatMap { $0.isFinite ? $0 : nil },
            receivedAt: received, firstByteAt: event.firstByteAt?.micros, completedAt: completed,
            latencyMs: event.latencyMs.map(Int64.init) ?? completed.map { max(0, ($0 - received) / 1000) },
            status: event.status.map(Int64.init), errorCode: event.errorCode.map(t), clientAddress: event.clientAddress.map(t),
            actor: event.actor.map(t), target: event.target.map(t), details: event.details.isEmpty ? nil : AuditRecord.canonicalJSON(event.details),
            payloadDigest: payloadDigest, prevHash: [], hash: [])
    }

    /// PostgreSQL text cannot hold NUL, so the database stores a string without them. The
    /// record is hashed as stored: a NUL in any text field would otherwise make an untouched
    /// row fail verification (SECURITY.md, finding 15).
    static func storable(_ s: String) -> String {
        // memchr on the contiguous bytes: the generic `utf8.contains` was ~1% of a
        // personal-data call's CPU (every text field and fingerprint of every row passes here).
        let hasNUL = s.utf8.withContiguousStorageIfAvailable { $0.count > 0 && memchr($0.baseAddress!, 0, $0.count) != nil }
            ?? s.utf8.contains(0)
        return hasNUL ? String(decoding: s.utf8.filter { $0 != 0 }, as: UTF8.self) : s
    }

    static func canonicalJSON(_ dict: [String: String]) -> String {
        let body = dict.sorted { $0.key < $1.key }.map { JSONValue.string($0.key).serialized + ":" + JSONValue.string($0.value).serialized }
        return "{" + body.joined(separator: ",") + "}"
    }
}

extension Date {
    /// Microseconds since the Unix epoch, rounded as PostgreSQL rounds.
    var micros: Int64 { Int64((timeIntervalSince1970 * 1_000_000).rounded()) }
    init(micros: Int64) { self.init(timeIntervalSince1970: Double(micros) / 1_000_000) }
}
