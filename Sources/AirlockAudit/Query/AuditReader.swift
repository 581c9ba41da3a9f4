import AirlockCore
import Foundation
import Logging
import NIOCore
import PostgresNIO

/// Read side of the audit trail for the CLI and (later) the web console.
public struct AuditReader: Sendable {
    public let client: PostgresClient
    public let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// Newest first, at most `query.limit` (default 100) rows.
    public func search(_ query: AuditQuery) async throws -> [AuditRecord] {
        var out: [AuditRecord] = []
        try await stream(query, newestFirst: true, limit: query.limit ?? 100) { out.append($0) }
        return out
    }

    /// Streams every matching row, oldest first, through `body` with constant memory: rows
    /// arrive with PostgresNIO's back-pressure, one at a time.
    public func stream(_ query: AuditQuery, newestFirst: Bool = false, limit: Int? = nil, _ body: (AuditRecord) async throws -> Void) async throws {
        var binds = PostgresBindings()
        let filter = query.whereClause(&binds)
        let order = newestFirst ? "received_at DESC, chain_id, seq" : "received_at, chain_id, seq"
        let limitSQL = (limit ?? query.limit).map { " LIMIT \($0)" } ?? ""
        let rows = try await client.query(PostgresQuery(
            unsafeSQL: "SELECT \(AuditRecord.selectColumns) FROM audit_events \(filter) ORDER BY \(order)\(limitSQL)", binds: binds), logger: logger)
        for try await row in rows {
            try await body(try AuditRecord.decodeStored(row).record)
        }
    }

    /// One event by id (or request id), with its encrypted bodies when captured.
    public func event(id: String) async throws -> (AuditRecord, StoredPayload?)? {
        let uuid = UUID(uuidString: id)
        var record: AuditRecord?
        for try await row in try await client.query(
            "SELECT \(unescaped: AuditRecord.selectColumns) FROM audit_events WHERE event_id = \(uuid) OR request_id = \(id) LIMIT 1", logger: logger) {
            record = try AuditRecord.decodeStored(row).record
        }
        guard let record else { return nil }
        var payload: StoredPayload?
        for try await (keyID, req, resp) in try await client.query("""
            SELECT key_id, request_box, response_box FROM audit_payloads
            WHERE tenant_id = \(record.tenantID) AND chain_id = \(record.chainID) AND seq = \(record.seq)
            """, logger: logger).decode((String, ByteBuffer, ByteBuffer).self) {
            payload = StoredPayload(record: record, keyID: keyID, requestBox: Array(buffer: req), responseBox: Array(buffer: resp))
        }
        return (record, payload)
    }
}

/// Encrypted bodies of one event; `decrypt` needs the payload key.
public struct StoredPayload: Sendable, Equatable {
    public let record: AuditRecord
    public let keyID: String
    let requestBox: [UInt8]
    let responseBox: [UInt8]

    public func decrypt(with key: AuditKey) throws(AirlockError) -> AuditPayload {
        let cipher = PayloadCipher(key: key)
        let r = record
        return AuditPayload(
            request: try cipher.open(requestBox, tenantID: r.tenantID, chainID: r.chainID, seq: r.seq, part: .request),
            response: try cipher.open(responseBox, tenantID: r.tenantID, chainID: r.chainID, seq: r.seq, part: .response))
    }
}
