import Foundation
import Logging
import PostgresNIO

/// Reads the console overview for [from, to): checks which days' rollups are still current
/// (`AuditRollupCoverage`), plans which parts come from daily rollups, hourly rollups and
/// `audit_events` (`AuditRollupPlan`), and sums all three in one GROUPING SETS query, so the
/// result equals the live aggregate (`useRollups: false`, or `AuditReader.report`) for any
/// range — up to the order in which floating-point costs are added.
public struct AuditRollupReader: Sendable {
    public let client: PostgresClient
    public let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// `bucketSeconds`: width of the chart's columns, counted from `from`.
    public func overview(tenant: String?, from: Date, to: Date, bucketSeconds: Int, useRollups: Bool = true) async throws -> AuditOverview {
        var coverage: [Date: Date] = [:]
        if useRollups {
            let firstDay = Date(timeIntervalSince1970: (from.timeIntervalSince1970 / 86_400).rounded(.down) * 86_400)
            try await client.withConnection { conn in
                _ = try await conn.query("SET jit = off", logger: logger)
                for c in try await AuditRollupCoverage.read(conn, from: firstDay, to: to, logger: logger) where c.current { coverage[c.day] = c.upto }
                _ = try await conn.query("RESET jit", logger: logger)
            }
        }
        let plan = AuditRollupPlan.make(from: from, to: to, bucketSeconds: bucketSeconds, coverage: coverage)
        async let totals = sums(plan, tenant: tenant, from: from, bucketSeconds: bucketSeconds)
        async let entities = entityTypes(plan, tenant: tenant)
        var overview = try await totals
        overview.report.entityTypes = try await entities
        overview.report.query = AuditQuery(tenantID: tenant, from: from, to: to)
        overview.source = plan
        return overview
    }

    /// `SELECT … UNION ALL …` over the plan's parts, each branch yielding one row shape.
    struct Branches {
        var binds = PostgresBindings()
        var sql: [String] = []

        mutating func bind(_ v: some PostgresNonThrowingEncodable & Sendable) -> String {
            binds.append(v)
            return "$\(binds.count)"
        }
    }

    private func sums(_ plan: AuditRollupPlan, tenant: String?, from: Date, bucketSeconds: Int) async throws -> AuditOverview {
        var q = Branches()
        let origin = q.bind(from)
        let tenantFilter = tenant.map { " AND tenant_id = \(q.bind($0))" } ?? ""
        let bin = "date_bin('\(bucketSeconds) seconds'::interval, %@, \(origin))"
        let rollupColumns = "tenant_id, decision, region, provider, requested_model, calls, prompt_tokens, completion_tokens, cost_usd, avoided_cost_usd"
        if !plan.days.isEmpty {
            q.sql.append("SELECT \(bin.replacingOccurrences(of: "%@", with: "day")) AS b, \(rollupColumns) FROM audit_rollup_days WHERE day = ANY(\(q.bind(plan.days)))\(tenantFilter)")
        }
        for span in plan.hours {
            q.sql.append("SELECT \(bin.replacingOccurrences(of: "%@", with: "hour")), \(rollupColumns) FROM audit_rollup_hours WHERE hour >= \(q.bind(span.from)) AND hour < \(q.bind(span.to))\(tenantFilter)")
        }
        for span in plan.live {
            q.sql.append("""
                SELECT \(bin.replacingOccurrences(of: "%@", with: "received_at")), tenant_id, decision, region, provider, requested_model, 1::bigint,
                    prompt_tokens, completion_tokens, cost_usd, CASE WHEN region = 'local' THEN avoided_cost_usd END
                FROM audit_events WHERE kind = 0 AND received_at >= \(q.bind(span.from)) AND received_at < \(q.bind(span.to))\(tenantFilter)
                """)
        }
        if q.sql.isEmpty {
            q.sql.append("SELECT NULL::timestamptz, \(rollupColumns) FROM audit_rollup_days WHERE false")
        }
        let sql = """
            SELECT GROUPING(b, tenant_id, decision, region, provider, requested_model)::int, b, tenant_id, decision, region, provider, requested_model,
                coalesce(sum(calls), 0)::bigint, coalesce(sum(prompt_tokens), 0)::bigint, coalesce(sum(completion_tokens), 0)::bigint,
                coalesce(sum(cost_usd), 0)::float8, coalesce(sum(avoided_cost_usd), 0)::float8,
                coalesce(sum(calls) FILTER (WHERE region = 'local'), 0)::bigint
            FROM (\(q.sql.joined(separator: "\nUNION ALL\n"))) AS s(b, tenant_id, decision, region, provider, requested_model, calls,
                prompt_tokens, completion_tokens, cost_usd, avoided_cost_usd)
            GROUP BY GROUPING SETS ((b, decision), (tenant_id), (decision), (region, provider), (requested_model), ())
            """
        var overview = AuditOverview(report: AuditReport(query: AuditQuery()))
        try await client.withConnection { conn in
            _ = try await conn.query("SET jit = off", logger: logger)
            for try await row in try await conn.query(PostgresQuery(unsafeSQL: sql, binds: q.binds), logger: logger)
                .decode((Int32, Date?, String?, String?, String?, String?, String?, Int64, Int64, Int64, Double, Double, Int64).self) {
                let (g, b, t, decision, region, provider, model) = (row.0, row.1, row.2, row.3, row.4, row.5, row.6)
                let (n, pt, ct, cost, avoided, local) = (Int(row.7), Int(row.8), Int(row.9), row.10, row.11, Int(row.12))
                // GROUPING bits, left to right: b, tenant_id, decision, region, provider, requested_model (1 = rolled up).
                switch g {
                case 0b010111: if let b { overview.buckets.append(.init(start: b, decision: decision ?? "", calls: n)) }
                case 0b101111:
                    overview.tenants.append(.init(tenant: t ?? "", calls: n, promptTokens: pt, completionTokens: ct, costUSD: cost, avoidedUSD: avoided))
                case 0b110111: overview.report.byDecision[decision ?? ""] = n
                case 0b111001: overview.report.destinations.append(.init(region: region ?? "", provider: provider ?? "", calls: n))
                case 0b111110:
                    overview.report.models.append(.init(model: model ?? "", calls: n, promptTokens: pt, completionTokens: ct, costUSD: cost))
                case 0b111111:
                    overview.report.totalCalls = n
                    overview.report.costUSD = cost
                    overview.report.costAvoidedUSD = avoided
                    overview.report.localCalls = local
                default: break
                }
            }
            _ = try await conn.query("RESET jit", logger: logger)
        }
        // An empty range still yields the () row; groups with no calls do not exist live either.
        overview.report.destinations.sort { $0.calls != $1.calls ? $0.calls > $1.calls : $0.region < $1.region }
        overview.report.models.sort { $0.calls != $1.calls ? $0.calls > $1.calls : $0.model < $1.model }
        overview.tenants.sort { $0.costUSD != $1.costUSD ? $0.costUSD > $1.costUSD : ($0.calls != $1.calls ? $0.calls > $1.calls : $0.tenant < $1.tenant) }
        overview.buckets.sort { $0.start != $1.start ? $0.start < $1.start : $0.decision < $1.decision }
        return overview
    }

    private func entityTypes(_ plan: AuditRollupPlan, tenant: String?) async throws -> [String: Int] {
        var q = Branches()
        let tenantFilter = tenant.map { " AND tenant_id = \(q.bind($0))" } ?? ""
        if !plan.days.isEmpty {
            q.sql.append("SELECT entity_type, found FROM audit_rollup_entity_days WHERE day = ANY(\(q.bind(plan.days)))\(tenantFilter)")
        }
        for span in plan.hours {
            q.sql.append("SELECT entity_type, found FROM audit_rollup_entity_hours WHERE hour >= \(q.bind(span.from)) AND hour < \(q.bind(span.to))\(tenantFilter)")
        }
        for span in plan.live {
            q.sql.append("""
                SELECT u.t, u.c FROM audit_events, unnest(entity_types, entity_counts) AS u(t, c)
                WHERE kind = 0 AND entity_types <> '{}' AND received_at >= \(q.bind(span.from)) AND received_at < \(q.bind(span.to))\(tenantFilter)
                """)
        }
        guard !q.sql.isEmpty else { return [:] }
        var out: [String: Int] = [:]
        try await client.withConnection { conn in
            _ = try await conn.query("SET jit = off", logger: logger)
            for try await (t, n) in try await conn.query(PostgresQuery(unsafeSQL: """
                SELECT t, sum(n)::bigint FROM (\(q.sql.joined(separator: "\nUNION ALL\n"))) AS s(t, n) GROUP BY t
                """, binds: q.binds), logger: logger).decode((String, Int64).self) {
                out[t] = Int(n)
            }
            _ = try await conn.query("RESET jit", logger: logger)
        }
        return out
    }
}
