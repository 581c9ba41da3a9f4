import Foundation
import Logging
import PostgresNIO

/// Maintains the overview rollups: for every day with an audit partition, sums the calls of
/// each closed hour into `audit_rollup_hours` (and, once the day is complete, into
/// `audit_rollup_days`), with the entity types found, and records in `audit_rollup_coverage`
/// how far the day is rolled up and what it looked like. A day whose rollups no longer match
/// (late insert, retention redacted or dropped rows) is rolled up again from scratch; a
/// current day is only extended by its newly closed hours, so a pass costs little.
///
/// Each day is handled in one REPEATABLE READ transaction: the check, the sums and the
/// coverage come from one snapshot, so whatever commits afterwards is caught by the next check.
/// One refresher runs at a time (advisory lock); readers never depend on it being up to date.
public struct AuditRollupRefresher: Sendable {
    public let client: PostgresClient
    public let logger: Logger
    /// Hours that closed less than this long ago are left to the live query: events are
    /// committed a few milliseconds to seconds after their `received_at`.
    public var grace: TimeInterval = 120

    /// Advisory lock key ("AUDROLUP"): one refresh at a time across instances.
    static let lockKey: Int64 = 0x41_55_44_52_4F_4C_55_50

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    public struct Outcome: Sendable, Equatable {
        /// Days extended by newly closed hours.
        public var extended = 0
        /// Days rolled up from scratch (new, or no longer matching `audit_events`).
        public var rebuilt = 0
        /// Another refresh held the lock; this one did nothing.
        public var skipped = false
    }

    public func refresh(now: Date = Date()) async throws -> Outcome {
        try await client.withConnection { conn in
            var got = false
            for try await v in try await conn.query("SELECT pg_try_advisory_lock(\(Self.lockKey))", logger: logger).decode(Bool.self) { got = v }
            guard got else { return Outcome(skipped: true) }
            do {
                var outcome = Outcome()
                _ = try await conn.query("SET jit = off", logger: logger)
                let days = try await partitionDays(conn)
                // Rollups of days whose partition is gone describe nothing any more.
                try await forgetDays(notIn: days, conn)
                let closed = ((now.timeIntervalSince1970 - grace) / 3_600).rounded(.down)
                for day in days {
                    let target = min(day.addingTimeInterval(86_400), Date(timeIntervalSince1970: closed * 3_600))
                    guard target > day else { continue }
                    switch try await refreshDay(conn, day: day, target: target) {
                    case .extended: outcome.extended += 1
                    case .rebuilt: outcome.rebuilt += 1
                    case .current: break
                    }
                }
                _ = try await conn.query("RESET jit", logger: logger)
                _ = try await conn.query("SELECT pg_advisory_unlock(\(Self.lockKey))", logger: logger)
                return outcome
            } catch {
                _ = try? await conn.query("ROLLBACK", logger: logger)
                _ = try? await conn.query("SELECT pg_advisory_unlock(\(Self.lockKey))", logger: logger)
                throw error
            }
        }
    }

    enum DayResult { case current, extended, rebuilt }

    /// Day starts of the audit partitions, oldest first.
    func partitionDays(_ conn: PostgresConnection) async throws -> [Date] {
        var days: [Date] = []
        for try await name in try await conn.query("""
            SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
            WHERE p.relname = 'audit_events'
            """, logger: logger).decode(String.self) {
            if let day = AuditPartition.day(fromName: name) { days.append(Date(timeIntervalSince1970: Double(day * 86_400))) }
        }
        return days.sorted()
    }

    private func forgetDays(notIn days: [Date], _ conn: PostgresConnection) async throws {
        var gone: [Date] = []
        for try await d in try await conn.query("SELECT day FROM audit_rollup_coverage WHERE NOT (day = ANY(\(days)))", logger: logger).decode(Date.self) {
            gone.append(d)
        }
        for day in gone {
            _ = try await conn.query("BEGIN", logger: logger)
            try await delete(day: day, conn)
            _ = try await conn.query("COMMIT", logger: logger)
        }
    }

    private func delete(day: Date, _ conn: PostgresConnection) async throws {
        let end = day.addingTimeInterval(86_400)
        _ = try await conn.query("DELETE FROM audit_rollup_hours WHERE hour >= \(day) AND hour < \(end)", logger: logger)
        _ = try await conn.query("DELETE FROM audit_rollup_entity_hours WHERE hour >= \(day) AND hour < \(end)", logger: logger)
        _ = try await conn.query("DELETE FROM audit_rollup_days WHERE day = \(day)", logger: logger)
        _ = try await conn.query("DELETE FROM audit_rollup_entity_days WHERE day = \(day)", logger: logger)
        _ = try await conn.query("DELETE FROM audit_rollup_coverage WHERE day = \(day)", logger: logger)
    }

    /// Every event committed after this snapshot has a higher sequence than its chain's head
    /// now; recording the heads (not just the day's highest sequences) lets the check of an
    /// open day skip the events that simply arrived after its rolled-up hours.
    private func mergeChainHeads(into coverage: inout AuditRollupCoverage, _ conn: PostgresConnection) async throws {
        for try await (chain, seq) in try await conn.query("SELECT chain_id, last_seq FROM audit_chains", logger: logger).decode((String, Int64).self) {
            coverage.merge(chain: chain, maxSeq: seq)
        }
    }

    private func refreshDay(_ conn: PostgresConnection, day: Date, target: Date) async throws -> DayResult {
        let dayEnd = day.addingTimeInterval(86_400)
        _ = try await conn.query("BEGIN ISOLATION LEVEL REPEATABLE READ", logger: logger)
        let existing = try await AuditRollupCoverage.read(conn, from: day, to: day.addingTimeInterval(1), logger: logger).first
        var coverage: AuditRollupCoverage
        let result: DayResult
        if var existing, existing.current {
            if existing.upto >= target {
                // Today: move the recorded sequences up to the chain heads, so the next check
                // only walks events committed since this pass.
                if existing.upto < dayEnd {
                    try await mergeChainHeads(into: &existing, conn)
                    try await existing.write(conn, logger: logger)
                }
                _ = try await conn.query("COMMIT", logger: logger)
                return .current
            }
            coverage = existing
            result = .extended
        } else {
            try await delete(day: day, conn)
            coverage = AuditRollupCoverage(day: day, upto: day)
            result = .rebuilt
        }
        let (from, to) = (coverage.upto, target)
        _ = try await conn.query("""
            INSERT INTO audit_rollup_hours (hour, tenant_id, decision, region, provider, requested_model, calls, prompt_tokens,
                completion_tokens, cost_usd, avoided_cost_usd)
            SELECT date_bin('1 hour'::interval, received_at, timestamptz '1970-01-01 00:00:00+00'), tenant_id, decision, region, provider,
                requested_model, count(*), coalesce(sum(prompt_tokens), 0), coalesce(sum(completion_tokens), 0), coalesce(sum(cost_usd), 0),
                coalesce(sum(avoided_cost_usd) FILTER (WHERE region = 'local'), 0)
            FROM audit_events WHERE kind = 0 AND received_at >= \(from) AND received_at < \(to)
            GROUP BY 1, 2, 3, 4, 5, 6
            """, logger: logger)
        _ = try await conn.query("""
            INSERT INTO audit_rollup_entity_hours (hour, tenant_id, entity_type, found)
            SELECT date_bin('1 hour'::interval, received_at, timestamptz '1970-01-01 00:00:00+00'), tenant_id, u.t, sum(u.c)
            FROM audit_events, unnest(entity_types, entity_counts) AS u(t, c)
            WHERE kind = 0 AND entity_types <> '{}' AND received_at >= \(from) AND received_at < \(to)
            GROUP BY 1, 2, 3
            """, logger: logger)
        // What the check will compare against later: all kinds of rows (admin actions too).
        for try await (chain, tenant, maxSeq, n, blanks) in try await conn.query("""
            SELECT chain_id, tenant_id, max(seq), count(*), count(*) FILTER (WHERE decision = '')
            FROM audit_events WHERE received_at >= \(from) AND received_at < \(to) GROUP BY chain_id, tenant_id
            """, logger: logger).decode((String, String, Int64, Int64, Int64).self) {
            coverage.events += n
            coverage.merge(chain: chain, maxSeq: maxSeq)
            coverage.merge(tenant: tenant, blanks: blanks)
        }
        coverage.upto = to
        try await mergeChainHeads(into: &coverage, conn)
        if to == dayEnd {
            _ = try await conn.query("DELETE FROM audit_rollup_days WHERE day = \(day)", logger: logger)
            _ = try await conn.query("DELETE FROM audit_rollup_entity_days WHERE day = \(day)", logger: logger)
            _ = try await conn.query("""
                INSERT INTO audit_rollup_days (day, tenant_id, decision, region, provider, requested_model, calls, prompt_tokens,
                    completion_tokens, cost_usd, avoided_cost_usd)
                SELECT \(day), tenant_id, decision, region, provider, requested_model, sum(calls), sum(prompt_tokens), sum(completion_tokens),
                    sum(cost_usd), sum(avoided_cost_usd)
                FROM audit_rollup_hours WHERE hour >= \(day) AND hour < \(dayEnd) GROUP BY 2, 3, 4, 5, 6
                """, logger: logger)
            _ = try await conn.query("""
                INSERT INTO audit_rollup_entity_days (day, tenant_id, entity_type, found)
                SELECT \(day), tenant_id, entity_type, sum(found) FROM audit_rollup_entity_hours
                WHERE hour >= \(day) AND hour < \(dayEnd) GROUP BY 2, 3
                """, logger: logger)
        }
        try await coverage.write(conn, logger: logger)
        _ = try await conn.query("COMMIT", logger: logger)
        return result
    }
}
