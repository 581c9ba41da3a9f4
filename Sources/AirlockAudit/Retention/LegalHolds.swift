import AirlockCore
import Foundation
import Logging
import PostgresNIO

/// Legal holds suspend retention for a tenant, optionally only for a time range.
public struct LegalHolds: Sendable {
    public let client: PostgresClient
    public let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    public struct Hold: Sendable, Equatable {
        public var id: Int64
        public var tenantID: String
        public var from: Date?
        public var to: Date?
        public var reason: String
        public var createdBy: String
        public var createdAt: Date

        /// Whether the hold covers any instant in [start, end).
        public func overlaps(start: Date, end: Date) -> Bool {
            (from.map { $0 < end } ?? true) && (to.map { $0 > start } ?? true)
        }
    }

    @discardableResult
    public func place(tenantID: String, from: Date?, to: Date?, reason: String, by actor: String) async throws -> Int64 {
        if let from, let to, from >= to { throw AirlockError(.invalidRequest, "hold range is empty: --from must be before --to") }
        for try await id in try await client.query("""
            INSERT INTO legal_holds (tenant_id, from_ts, to_ts, reason, created_by)
            VALUES (\(tenantID), \(from), \(to), \(reason), \(actor)) RETURNING id
            """, logger: logger).decode(Int64.self) {
            return id
        }
        throw AirlockError(.internalError, "legal hold was not stored")
    }

    /// Releases the holds of a tenant (or one hold by id); returns how many were released.
    @discardableResult
    public func release(tenantID: String, id: Int64? = nil, by actor: String) async throws -> Int {
        var n = 0
        for try await _ in try await client.query("""
            UPDATE legal_holds SET released_at = now(), released_by = \(actor)
            WHERE tenant_id = \(tenantID) AND released_at IS NULL AND (\(id)::bigint IS NULL OR id = \(id)) RETURNING id
            """, logger: logger) { n += 1 }
        return n
    }

    public func active(tenantID: String? = nil) async throws -> [Hold] {
        var out: [Hold] = []
        for try await (id, tenant, from, to, reason, by, at) in try await client.query("""
            SELECT id, tenant_id, from_ts, to_ts, reason, created_by, created_at FROM legal_holds
            WHERE released_at IS NULL AND (\(tenantID)::text IS NULL OR tenant_id = \(tenantID)) ORDER BY tenant_id, id
            """, logger: logger).decode((Int64, String, Date?, Date?, String, String, Date).self) {
            out.append(Hold(id: id, tenantID: tenant, from: from, to: to, reason: reason, createdBy: by, createdAt: at))
        }
        return out
    }
}
