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
    public func report(_ query: AuditQuery) async throws -> AuditReport {
        var report = AuditReport(query: query)
        func sql(_ select: String, group: String?) -> PostgresQuery {
            var binds = PostgresBindings()
            var filter = query.whereClause(&binds)
            filter = filter.isEmpty ? "WHERE kind = 0" : filter + " AND kind = 0"  // calls, not admin actions
            return PostgresQuery(unsafeSQL: "SELECT \(select) \(filter)" + (group.map { " GROUP BY \($0)" } ?? ""), binds: binds)
        }
        for try await (decision, n) in try await client.query(sql("decision, count(*) FROM audit_events", group: "decision"), logger: logger)
            .decode((String, Int64).self) { report.byDecision[decision] = Int(n) }
        report.totalCalls = report.byDecision.values.reduce(0, +)
        for try await (type, n) in try await client.query(sql("u.t, sum(u.c)::bigint FROM audit_events, unnest(entity_types, entity_counts) AS u(t, c)", group: "u.t"), logger: logger)
            .decode((String, Int64).self) { report.entityTypes[type] = Int(n) }
        for try await (region, provider, n) in try await client.query(sql("coalesce(region, ''), coalesce(provider, ''), count(*) FROM audit_events", group: "1, 2"), logger: logger)
            .decode((String, String, Int64).self) { report.destinations.append(.init(region: region, provider: provider, calls: Int(n))) }
        for try await (model, n, pt, ct, cost) in try await client.query(sql("""
            coalesce(requested_model, ''), count(*), coalesce(sum(prompt_tokens), 0)::bigint, coalesce(sum(completion_tokens), 0)::bigint,
            coalesce(sum(cost_usd), 0)::float8 FROM audit_events
            """, group: "1"), logger: logger).decode((String, Int64, Int64, Int64, Double).self) {
            report.models.append(.init(model: model, calls: Int(n), promptTokens: Int(pt), completionTokens: Int(ct), costUSD: cost))
        }
        for try await (cost, avoided, local) in try await client.query(sql("""
            coalesce(sum(cost_usd), 0)::float8, coalesce(sum(avoided_cost_usd) FILTER (WHERE region = 'local'), 0)::float8,
            count(*) FILTER (WHERE region = 'local') FROM audit_events
            """, group: nil), logger: logger).decode((Double, Double, Int64).self) {
            report.costUSD = cost
            report.costAvoidedUSD = avoided
            report.localCalls = Int(local)
        }
        report.destinations.sort { $0.calls != $1.calls ? $0.calls > $1.calls : $0.region < $1.region }
        report.models.sort { $0.calls > $1.calls }
        return report
    }
}
