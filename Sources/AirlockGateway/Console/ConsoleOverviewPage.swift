import AirlockAudit
import AirlockStore
import Foundation
import Hummingbird

/// `/console/overview`: calls over time by decision, decisions, entity types, destinations
/// by region, tokens and cost by model and tenant, cost avoided by local answers — for a
/// chosen range (and optionally one tenant). `AuditRollupReader` sums the daily/hourly rollups
/// and reads only the rest live; its totals equal `airlock audit report` for the same range.
struct ConsoleOverviewPage: Sendable {
    struct Range: Sendable {
        var key: String
        var title: String
        var seconds: Double?
        var bucket: Int
    }

    static let ranges: [Range] = [
        .init(key: "24h", title: "24 hours", seconds: 86_400, bucket: 3_600),
        .init(key: "7d", title: "7 days", seconds: 7 * 86_400, bucket: 6 * 3_600),
        .init(key: "30d", title: "30 days", seconds: 30 * 86_400, bucket: 86_400),
        .init(key: "90d", title: "90 days", seconds: 90 * 86_400, bucket: 86_400),
        .init(key: "all", title: "All", seconds: nil, bucket: 86_400),
    ]

    static let decisionColours: [(String, Int)] = [("allowed", 0), ("transformed", 1), ("blocked", 2), ("failed", 3)]

    func render(_ r: ConsoleRequest) async throws -> Response {
        let range = Self.ranges.first { $0.key == r.query["range"] } ?? Self.ranges[0]
        let tenant = r.query["tenant"]
        let now = Date()
        let queries = ConsoleQueries(client: r.deps.client, logger: r.context.logger)
        var from: Date
        var bucket = range.bucket
        if let seconds = range.seconds {
            from = now.addingTimeInterval(-seconds)
        } else {
            from = try await queries.oldestEvent() ?? now.addingTimeInterval(-86_400)
            // Keep "all" to at most ~120 columns.
            let span = now.timeIntervalSince(from)
            while span / Double(bucket) > 120 { bucket *= 7 }
        }
        // Bucket edges on whole units so labels read well.
        from = Date(timeIntervalSince1970: (from.timeIntervalSince1970 / Double(min(bucket, 86_400))).rounded(.down) * Double(min(bucket, 86_400)))
        let to = now.addingTimeInterval(1)

        // Rollups where they are proven current, audit_events for the rest (today's open hour).
        let overview = try await AuditRollupReader(client: r.deps.client, logger: r.context.logger)
            .overview(tenant: tenant, from: from, to: to, bucketSeconds: bucket, useRollups: r.deps.useRollups)
        let (report, buckets, tenants) = (overview.report, overview.buckets, overview.tenants)
        let tenantIDs = (try? r.services.governance.current().tenants.keys.sorted()) ?? []

        let fromText = ConsoleDates.inputValue(from)
        func auditLink(_ extra: [(String, String?)]) -> String {
            ConsoleHTML.href("/console/audit", [("tenant", tenant), ("from", fromText)] + extra)
        }

        var body = "<h1>Overview</h1><p class=\"sub\">\(ConsoleHTML.escape(tenant.map { "Tenant \($0)" } ?? "All tenants")), \(ConsoleHTML.escape(ConsoleHTML.timestamp(from))) – \(ConsoleHTML.escape(ConsoleHTML.timestamp(now))) UTC</p>"
        body += "<form class=\"filters\" method=\"get\" action=\"/console/overview\"><div class=\"ranges\">"
        for option in Self.ranges {
            body += "<a \(option.key == range.key ? "class=\"on\" " : "")\(ConsoleHTML.href("/console/overview", [("range", option.key), ("tenant", tenant)]))>\(ConsoleHTML.escape(option.title))</a>"
        }
        body += "</div><input type=\"hidden\" name=\"range\" value=\"\(ConsoleHTML.escape(range.key))\"><label>Tenant<select name=\"tenant\"><option value=\"\">All tenants</option>"
        for t in tenantIDs { body += "<option\(t == tenant ? " selected" : "") value=\"\(ConsoleHTML.escape(t))\">\(ConsoleHTML.escape(t))</option>" }
        body += "</select></label><button type=\"submit\" class=\"secondary\">Apply</button></form>"

        let blocked = report.byDecision["blocked"] ?? 0
        let transformed = report.byDecision["transformed"] ?? 0
        let tokens = report.models.reduce(0) { $0 + $1.promptTokens + $1.completionTokens }
        func stat(_ k: String, _ v: String, _ link: String? = nil) -> String {
            let value = link.map { "<a \($0)>\(ConsoleHTML.escape(v))</a>" } ?? ConsoleHTML.escape(v)
            return "<div class=\"card stat\"><div class=\"k\">\(ConsoleHTML.escape(k))</div><div class=\"v\">\(value)</div></div>"
        }
        body += "<div class=\"stats\">"
        body += stat("Requests", ConsoleHTML.count(report.totalCalls), auditLink([]))
        body += stat("Pseudonymized / redacted", ConsoleHTML.count(transformed), auditLink([("decision", "transformed")]))
        body += stat("Blocked", ConsoleHTML.count(blocked), auditLink([("decision", "blocked")]))
        body += stat("Answered locally", ConsoleHTML.count(report.localCalls), auditLink([("region", "local")]))
        body += stat("Tokens", ConsoleHTML.compact(tokens))
        body += stat("Cost", ConsoleHTML.money(report.costUSD))
        body += stat("Cost avoided (local)", ConsoleHTML.money(report.costAvoidedUSD))
        body += "</div>"

        // Calls over time, stacked by decision, every bucket present (zeros included).
        var columns: [ConsoleChart.Column] = []
        var index: [Int: Int] = [:]
        var t = from
        let labelFormat: (Date) -> String = { d in
            let s = ConsoleHTML.timestamp(d)
            return bucket < 86_400 ? String(s.dropFirst(5).prefix(11)) : String(s.prefix(10))
        }
        while t < to && columns.count < 400 {
            index[Int(t.timeIntervalSince1970)] = columns.count
            columns.append(.init(label: labelFormat(t), values: Array(repeating: 0, count: Self.decisionColours.count)))
            t = t.addingTimeInterval(Double(bucket))
        }
        for b in buckets {
            guard let i = index[Int(b.start.timeIntervalSince1970)], let s = Self.decisionColours.firstIndex(where: { $0.0 == b.decision }) else { continue }
            columns[i].values[s] += Double(b.calls)
        }
        body += "<div class=\"card\"><h2>Requests over time</h2>"
        body += ConsoleChart.stackedColumns(columns, series: Self.decisionColours.map { (name: $0.0, colour: $0.1) }, title: "Requests over time by decision")
        body += "</div><div class=\"grid\">"

        var decisionBars = Self.decisionColours.map { d, c in
            ConsoleChart.Bar(label: d, value: Double(report.byDecision[d] ?? 0), display: ConsoleHTML.count(report.byDecision[d] ?? 0), colour: c)
        }
        decisionBars.append(.init(label: "answered locally", value: Double(report.localCalls), display: ConsoleHTML.count(report.localCalls), colour: 4))
        body += "<div class=\"card\"><h2>Decisions</h2>" + ConsoleChart.bars(decisionBars, title: "Calls by decision") + "</div>"

        let entities = report.entityTypes.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
        body += "<div class=\"card\"><h2>Entity types found</h2>"
        body += ConsoleChart.bars(entities.prefix(12).map { .init(label: $0.key, value: Double($0.value), display: ConsoleHTML.count($0.value), colour: 6) }, title: "Entity types found")
        if !entities.isEmpty {
            body += "<p class=\"legend\">Open in the audit explorer: " + entities.prefix(12).map { "<a \(auditLink([("entity", $0.key)]))>\(ConsoleHTML.escape($0.key))</a>" }.joined(separator: " · ") + "</p>"
        }
        body += "</div>"

        var regions: [String: Int] = [:]
        for d in report.destinations { regions[d.region.isEmpty ? "(none: refused)" : d.region, default: 0] += d.calls }
        body += "<div class=\"card\"><h2>Destinations by region</h2>"
        body += ConsoleChart.bars(regions.sorted { $0.value > $1.value }.map { .init(label: $0.key, value: Double($0.value), display: ConsoleHTML.count($0.value), colour: $0.key == "local" ? 4 : 5) }, title: "Calls by destination region")
        if !report.destinations.isEmpty {
            body += "<table><thead><tr><th>Region</th><th>Provider</th><th class=\"num\">Calls</th></tr></thead><tbody>"
            for d in report.destinations {
                let region = d.region.isEmpty ? nil : d.region
                body += "<tr><td>\(region.map { "<a \(auditLink([("region", $0)]))>\(ConsoleHTML.escape($0))</a>" } ?? "–")</td><td>\(ConsoleHTML.escape(d.provider.isEmpty ? "–" : d.provider))</td><td class=\"num\">\(ConsoleHTML.count(d.calls))</td></tr>"
            }
            body += "</tbody></table>"
        }
        body += "</div>"

        body += "</div><div class=\"grid two\"><div class=\"card\"><h2>Tokens and cost by model</h2>"
        body += ConsoleChart.bars(report.models.prefix(10).map { .init(label: $0.model.isEmpty ? "–" : $0.model, value: $0.costUSD, display: ConsoleHTML.money($0.costUSD), colour: 5) }, title: "Cost by model")
        if !report.models.isEmpty {
            body += "<table><thead><tr><th>Model</th><th class=\"num\">Calls</th><th class=\"num\">Prompt tokens</th><th class=\"num\">Completion tokens</th><th class=\"num\">Cost</th></tr></thead><tbody>"
            for m in report.models {
                let name = m.model.isEmpty ? nil : m.model
                body += "<tr><td>\(name.map { "<a \(auditLink([("model", $0)]))>\(ConsoleHTML.escape($0))</a>" } ?? "–")</td><td class=\"num\">\(ConsoleHTML.count(m.calls))</td><td class=\"num\">\(ConsoleHTML.count(m.promptTokens))</td><td class=\"num\">\(ConsoleHTML.count(m.completionTokens))</td><td class=\"num\">\(ConsoleHTML.money(m.costUSD))</td></tr>"
            }
            body += "</tbody></table>"
        }
        body += "</div>"

        body += "<div class=\"card\"><h2>Tokens and cost by tenant</h2>"
        body += ConsoleChart.bars(tenants.prefix(10).map { .init(label: $0.tenant, value: $0.costUSD, display: ConsoleHTML.money($0.costUSD), colour: 7) }, title: "Cost by tenant")
        if !tenants.isEmpty {
            body += "<table><thead><tr><th>Tenant</th><th class=\"num\">Calls</th><th class=\"num\">Tokens</th><th class=\"num\">Cost</th><th class=\"num\">Avoided</th></tr></thead><tbody>"
            for line in tenants.prefix(25) {
                body += "<tr><td><a \(ConsoleHTML.href("/console/overview", [("range", range.key), ("tenant", line.tenant)]))>\(ConsoleHTML.escape(line.tenant))</a></td><td class=\"num\">\(ConsoleHTML.count(line.calls))</td><td class=\"num\">\(ConsoleHTML.count(line.promptTokens + line.completionTokens))</td><td class=\"num\">\(ConsoleHTML.money(line.costUSD))</td><td class=\"num\">\(ConsoleHTML.money(line.avoidedUSD))</td></tr>"
            }
            body += "</tbody></table>"
        }
        body += "</div></div>"
        return r.page(title: "Overview", section: "/console/overview", body)
    }
}
