import Foundation
import Logging
import PostgresNIO

/// One day's entry in `audit_rollup_coverage`, and the check that the day's rollups still
/// describe `audit_events`. Rows of a day only change in three ways, each caught by a few
/// index probes instead of re-reading the day:
/// - a late insert (spool replay after an outage): its chain sequence is above the one recorded
///   for its chain — the chain's head when the day was last refreshed (a head moves in the
///   transaction that appends, so anything committed later has a higher sequence); chains new
///   since then have no sequence recorded;
/// - retention redacting a tenant's rows: that tenant's count of blanked rows (decision '') grows;
/// - retention dropping the day's partition: the day had events and now has none.
struct AuditRollupCoverage: Sendable, Equatable {
    var day: Date
    var upto: Date
    var events: Int64 = 0
    var chainIDs: [String] = []
    var chainSeqs: [Int64] = []
    var tenantIDs: [String] = []
    var blankCounts: [Int64] = []
    /// Whether the day's rollups still match `audit_events` (computed by `read`).
    var current = true

    /// Adds what a later span of the same day contributed.
    mutating func merge(chain: String, maxSeq: Int64) {
        if let i = chainIDs.firstIndex(of: chain) { chainSeqs[i] = max(chainSeqs[i], maxSeq) } else {
            chainIDs.append(chain)
            chainSeqs.append(maxSeq)
        }
    }

    mutating func merge(tenant: String, blanks: Int64) {
        if let i = tenantIDs.firstIndex(of: tenant) { blankCounts[i] += blanks } else {
            tenantIDs.append(tenant)
            blankCounts.append(blanks)
        }
    }

    static let checkSQL = """
        SELECT d.day, d.upto, d.events, d.chain_ids, d.chain_seqs, d.tenant_ids, d.blank_counts,
            (d.events = 0 OR EXISTS (SELECT 1 FROM audit_events e WHERE e.received_at >= d.day AND e.received_at < d.upto))
            AND NOT EXISTS (
                -- LIMIT keeps this a (chain_id, seq) index probe per chain; as a semi-join the
                -- planner hashes the whole day instead.
                SELECT 1 FROM (SELECT chain_id FROM audit_chains UNION SELECT unnest(d.chain_ids)) AS c(id)
                CROSS JOIN LATERAL (SELECT 1 FROM audit_events e WHERE e.chain_id = c.id
                    AND e.seq > coalesce(d.chain_seqs[array_position(d.chain_ids, c.id)], -9223372036854775807)
                    AND e.received_at >= d.day AND e.received_at < d.upto ORDER BY e.seq LIMIT 1) AS late)
            AND NOT EXISTS (
                SELECT 1 FROM unnest(d.tenant_ids, d.blank_counts) AS b(t, n)
                WHERE (SELECT count(*) FROM audit_events e
                       WHERE e.tenant_id = b.t AND e.decision = '' AND e.received_at >= d.day AND e.received_at < d.upto) <> b.n)
        FROM audit_rollup_coverage d WHERE d.day >= $1 AND d.day < $2 ORDER BY d.day
        """

    /// Coverage of the days starting in [from, to), each checked against `audit_events`.
    static func read(_ conn: PostgresConnection, from: Date, to: Date, logger: Logger) async throws -> [AuditRollupCoverage] {
        var binds = PostgresBindings()
        binds.append(from)
        binds.append(to)
        var out: [AuditRollupCoverage] = []
        for try await row in try await conn.query(PostgresQuery(unsafeSQL: checkSQL, binds: binds), logger: logger)
            .decode((Date, Date, Int64, [String], [Int64], [String], [Int64], Bool).self) {
            out.append(AuditRollupCoverage(day: row.0, upto: row.1, events: row.2, chainIDs: row.3, chainSeqs: row.4,
                                           tenantIDs: row.5, blankCounts: row.6, current: row.7))
        }
        return out
    }

    func write(_ conn: PostgresConnection, logger: Logger) async throws {
        _ = try await conn.query("""
            INSERT INTO audit_rollup_coverage (day, upto, events, chain_ids, chain_seqs, tenant_ids, blank_counts, refreshed_at)
            VALUES (\(day), \(upto), \(events), \(chainIDs), \(chainSeqs), \(tenantIDs), \(blankCounts), now())
            ON CONFLICT (day) DO UPDATE SET upto = EXCLUDED.upto, events = EXCLUDED.events, chain_ids = EXCLUDED.chain_ids,
                chain_seqs = EXCLUDED.chain_seqs, tenant_ids = EXCLUDED.tenant_ids, blank_counts = EXCLUDED.blank_counts,
                refreshed_at = now()
            """, logger: logger)
    }
}
