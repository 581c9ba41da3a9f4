import AirlockAudit
import Foundation
import Hummingbird

/// `/console/verification`: the hash chains (heads, signed or not), the last verification
/// runs started here, and a form to verify now (all events, or the span of a recent range)
/// with the same `ChainVerifier` as `airlock audit verify`.
struct ConsoleVerificationPage: Sendable {
    static let scopes: [(key: String, title: String, seconds: Double?)] = [
        ("24h", "Events of the last 24 hours", 86_400), ("7d", "Events of the last 7 days", 7 * 86_400), ("all", "Every chain, every event", nil),
    ]

    func render(_ r: ConsoleRequest) async throws -> Response {
        let queries = ConsoleQueries(client: r.deps.client, logger: r.context.logger)
        let heads = try await queries.chainHeads()
        let runs = try await queries.verificationRuns()
        var body = "<h1>Chain verification</h1><p class=\"sub\">Each gateway instance writes its own hash chain; verification recomputes every hash and names the first broken sequence.</p>"
        if let shown = r.query["run"].flatMap(Int64.init), let run = runs.first(where: { $0.id == shown }) {
            body += run.ok ? "<div class=\"notice ok\">Run \(run.id): all \(run.chains) chains verified, \(ConsoleHTML.count(run.events)) events checked.</div>"
                           : "<div class=\"notice bad\">Run \(run.id): BROKEN — \(ConsoleHTML.escape(run.problems.joined(separator: "; ")))</div>"
        }
        if r.deps.checkpointKey == nil {
            body += "<div class=\"notice\">No checkpoint key is configured (audit.checkpoint_key_env): hashes and links are checked, signatures of heads, checkpoints and redactions are not.</div>"
        }
        let latest = runs.first
        body += "<div class=\"stats\">"
        body += "<div class=\"card stat\"><div class=\"k\">Chains</div><div class=\"v\">\(heads.count)</div></div>"
        body += "<div class=\"card stat\"><div class=\"k\">Events chained</div><div class=\"v\">\(ConsoleHTML.count(Int(heads.reduce(0) { $0 + $1.lastSeq })))</div></div>"
        body += "<div class=\"card stat\"><div class=\"k\">Last verification</div><div class=\"v\">\(latest.map { $0.ok ? "<span class=\"badge ok\">ok</span>" : "<span class=\"badge bad\">broken</span>" } ?? "<span class=\"badge\">never</span>")</div></div>"
        body += "</div><div class=\"grid\"><div class=\"card\"><h2>Verify now</h2><form method=\"post\" action=\"/console/verification\">\(r.csrf)<label>Scope<select name=\"scope\">"
        for s in Self.scopes { body += "<option value=\"\(s.key)\">\(ConsoleHTML.escape(s.title))</option>" }
        body += "</select></label><p><button type=\"submit\">Verify</button></p></form></div>"
        body += "<div class=\"card\"><h2>Chains</h2>"
        if heads.isEmpty {
            body += "<p class=\"empty\">No audit chain yet.</p>"
        } else {
            body += "<table><thead><tr><th>Chain</th><th class=\"num\">Last sequence</th><th>Updated</th><th>Head signed</th></tr></thead><tbody>"
            for h in heads {
                body += "<tr><td class=\"mono\">\(ConsoleHTML.escape(h.chainID))</td><td class=\"num\">\(ConsoleHTML.count(Int(h.lastSeq)))</td><td class=\"mono\">\(ConsoleHTML.timestamp(h.updatedAt))</td><td>\(h.signed ? "yes" : "no")</td></tr>"
            }
            body += "</tbody></table>"
        }
        body += "</div></div><div class=\"card\"><h2>Last runs</h2>"
        if runs.isEmpty {
            body += "<p class=\"empty\">No verification was run from the console yet.</p>"
        } else {
            body += "<table><thead><tr><th>Run</th><th>Started</th><th class=\"num\">Seconds</th><th>Scope</th><th>By</th><th class=\"num\">Chains</th><th class=\"num\">Events</th><th>Signatures</th><th>Result</th></tr></thead><tbody>"
            for run in runs {
                let scope = run.from.map { "from \(ConsoleHTML.timestamp($0))" } ?? "all"
                let result = run.ok ? "<span class=\"badge ok\">ok</span>" : "<span class=\"badge bad\">broken</span> " + ConsoleHTML.escape(run.problems.joined(separator: "; "))
                body += "<tr><td>\(run.id)</td><td class=\"mono\">\(ConsoleHTML.timestamp(run.startedAt))</td><td class=\"num\">\(String(format: "%.2f", run.finishedAt.timeIntervalSince(run.startedAt)))</td><td>\(ConsoleHTML.escape(scope))</td><td class=\"mono\">\(ConsoleHTML.escape(run.operatorID))</td><td class=\"num\">\(run.chains)</td><td class=\"num\">\(ConsoleHTML.count(run.events))</td><td>\(run.signaturesChecked ? "checked" : "not checked")</td><td>\(result)</td></tr>"
            }
            body += "</tbody></table>"
        }
        body += "</div>"
        return r.page(title: "Verification", section: "/console/verification", body)
    }

    func run(_ r: ConsoleRequest) async throws -> Response {
        guard let scope = Self.scopes.first(where: { $0.key == r.form["scope"] }) else { throw ConsoleError(.badRequest, "Unknown verification scope.") }
        let started = Date()
        let from = scope.seconds.map { started.addingTimeInterval(-$0) }
        try await r.record("audit.verify", details: ["scope": scope.key, "via": "console"])
        let report = try await ChainVerifier(client: r.deps.client, logger: r.context.logger, checkpointKey: r.deps.checkpointKey).verify(from: from, to: nil)
        let problems = report.chains.compactMap { c in c.problem.map { "\(c.chainID): \($0)" } }
        let id = try await ConsoleQueries(client: r.deps.client, logger: r.context.logger).recordVerification(.init(
            id: 0, startedAt: started, finishedAt: Date(), operatorID: r.session.operatorID, from: from, to: nil, chains: report.chains.count,
            events: report.eventsChecked, ok: report.ok, signaturesChecked: r.deps.checkpointKey != nil, problems: problems))
        return ConsolePage.redirect("/console/verification?run=\(id)")
    }
}
