import AirlockCore
import Foundation
import Logging
import PostgresNIO

/// `airlock audit report`: a tenant's usage over a period, aggregated in PostgreSQL.
public struct AuditReport: Sendable, Equatable {
    public struct ModelLine: Sendable, Equatable {
        public var model: String
        public var calls: Int
        public var promptTokens: Int
        public var completionTokens: Int
        public var costUSD: Double
    }
    public struct Destination: Sendable, Equatable {
        public var region: String
        public var provider: String
        public var calls: Int
    }

    public var query: AuditQuery
    public var totalCalls: Int = 0
    public var byDecision: [String: Int] = [:]
    public var entityTypes: [String: Int] = [:]
    public var destinations: [Destination] = []
    public var models: [ModelLine] = []
    public var costUSD: Double = 0
    /// Local answers priced at what the requested remote model would have cost.
    public var costAvoidedUSD: Double = 0
    public var localCalls: Int = 0

    public var json: JSONValue {
        .object(JSONObject([
            ("tenant", query.tenantID.map(JSONValue.string) ?? .null),
            ("from", query.from.map { .string(ISO8601DateFormatter().string(from: $0)) } ?? .null),
            ("to", query.to.map { .string(ISO8601DateFormatter().string(from: $0)) } ?? .null),
            ("total_calls", .int(totalCalls)),
            ("calls_by_decision", .object(JSONObject(byDecision.sorted { $0.key < $1.key }.map { ($0.key, .int($0.value)) }))),
            ("entity_types", .object(JSONObject(entityTypes.sorted { $0.key < $1.key }.map { ($0.key, .int($0.value)) }))),
            ("destinations", .array(destinations.map { .object(JSONObject([("region", .string($0.region)), ("provider", .string($0.provider)), ("calls", .int($0.calls))])) })),
            ("models", .array(models.map { .object(JSONObject([
                ("model", .string($0.model)), ("calls", .int($0.calls)), ("prompt_tokens", .int($0.promptTokens)),
                ("completion_tokens", .int($0.completionTokens)), ("cost_usd", .double($0.costUSD)),
            ])) })),
            ("cost_usd", .double(costUSD)),
            ("local_calls", .int(localCalls)),
            ("cost_avoided_usd", .double(costAvoidedUSD)),
        ]))
    }
}

extension AuditReader {
    /// Two scans of the tenant's range: one GROUPING SETS pass for decisions, destinations,
    /// models and totals, one for entity counts. JIT is off for these short aggregates (its
    /// compile time exceeded the query time in measurements).
    public func report(_ query: AuditQuery) async throws -> AuditReport {
        var report = AuditReport(query: query)
        var binds = PostgresBindings()
        var filter = query.whereClause(&binds)
        filter = filter.isEmpty ? "WHERE kind = 0" : filter + " AND kind = 0"  // calls, not admin actions
        let grouped = PostgresQuery(unsafeSQL: """
            SELECT GROUPING(decision, region, provider, requested_model)::int AS g, decision, coalesce(region, ''), coalesce(provider, ''),
                coalesce(requested_model, ''), count(*), coalesce(sum(prompt_tokens), 0)::bigint, coalesce(sum(completion_tokens), 0)::bigint,
                coalesce(sum(cost_usd), 0)::float8, coalesce(sum(avoided_cost_usd) FILTER (WHERE region = 'local'), 0)::float8,
                count(*) FILTER (WHERE region = 'local')
            FROM audit_events \(filter)
            GROUP BY GROUPING SETS ((decision), (region, provider), (requested_model), ())
            """, binds: binds)
        let entities = PostgresQuery(unsafeSQL: """
            SELECT u.t, sum(u.c)::bigint FROM audit_events, unnest(entity_types, entity_counts) AS u(t, c)
            \(filter) AND entity_types <> '{}' GROUP BY u.t
            """, binds: binds)
        try await client.withConnection { conn in
            _ = try await conn.query("SET jit = off", logger: logger)
            for try await (g, decision, region, provider, model, n, pt, ct, cost, avoided, local) in try await conn.query(grouped, logger: logger)
                .decode((Int32, String?, String, String, String, Int64, Int64, Int64, Double, Double, Int64).self) {
                // GROUPING bits, left to right: decision, region, provider, requested_model (1 = rolled up).
                switch g {
                case 0b0111: report.byDecision[decision ?? ""] = Int(n)
                case 0b1001: report.destinations.append(.init(region: region, provider: provider, calls: Int(n)))
                case 0b1110: report.models.append(.init(model: model, calls: Int(n), promptTokens: Int(pt), completionTokens: Int(ct), costUSD: cost))
                case 0b1111:
                    report.totalCalls = Int(n)
                    report.costUSD = cost
                    report.costAvoidedUSD = avoided
                    report.localCalls = Int(local)
                default: break
                }
            }
            for try await (type, n) in try await conn.query(entities, logger: logger).decode((String, Int64).self) {
                report.entityTypes[type] = Int(n)
            }
            _ = try await conn.query("RESET jit", logger: logger)
        }
        report.destinations.sort { $0.calls != $1.calls ? $0.calls > $1.calls : $0.region < $1.region }
        report.models.sort { $0.calls > $1.calls }
        return report
    }
}
