import AirlockAudit
import AirlockCore
import Foundation
import Hummingbird

/// `/console/retention`: retention per tenant (from each active policy, else the default
/// policy), what expires next, legal holds, and the last runs of the retention job. Admins
/// place and release holds here (audited as `legal_hold.place` / `legal_hold.release`, as
/// the CLI does).
struct ConsoleRetentionPage: Sendable {
    func render(_ r: ConsoleRequest) async throws -> Response {
        let holds = try await LegalHolds(client: r.deps.client, logger: r.context.logger).active()
        let queries = ConsoleQueries(client: r.deps.client, logger: r.context.logger)
        let runs = try await queries.retentionRuns()
        let snapshot = try r.services.governance.current()
        let rules = RetentionRules.from(snapshot: snapshot, defaults: RetentionRules.Days(r.services.defaultPolicy.policy.retention))
        let now = Date()

        struct Line { var tenant: String; var days: RetentionRules.Days; var oldest: Date?; var held: Bool }
        var lines: [Line] = []
        for tenant in snapshot.tenants.keys.sorted() {
            let days = rules.days(for: tenant)
            let oldest = try await queries.oldestEvent(tenant: tenant)
            lines.append(Line(tenant: tenant, days: days, oldest: oldest, held: holds.contains { $0.tenantID == tenant }))
        }
        func expiry(_ l: Line) -> Date? { l.oldest.map { $0.addingTimeInterval(Double(l.days.auditDays) * 86_400) } }
        lines.sort { (expiry($0) ?? .distantFuture) < (expiry($1) ?? .distantFuture) }

        var body = "<h1>Retention</h1><p class=\"sub\">Audit rows and captured payloads expire per tenant policy (<code>retention.audit_days</code>, <code>retention.payload_days</code>); legal holds suspend expiry.</p>"
        if let notice = r.query["notice"] { body += "<div class=\"notice ok\">\(ConsoleHTML.escape(notice))</div>" }
        body += "<div class=\"card\"><h2>What expires next</h2>"
        if lines.isEmpty {
            body += "<p class=\"empty\">No tenants.</p>"
        } else {
            body += "<table><thead><tr><th>Tenant</th><th class=\"num\">Audit days</th><th class=\"num\">Payload days</th><th>Oldest event</th><th>Oldest expires</th><th>Hold</th></tr></thead><tbody>"
            for l in lines {
                let exp = expiry(l)
                let expText = exp.map { $0 <= now ? "due at the next run" : ConsoleHTML.timestamp($0) } ?? "–"
                body += "<tr><td>\(ConsoleHTML.escape(l.tenant))</td><td class=\"num\">\(l.days.auditDays)</td><td class=\"num\">\(l.days.payloadDays)</td><td class=\"mono\">\(l.oldest.map(ConsoleHTML.timestamp) ?? "no events")</td><td class=\"mono\">\(l.held ? "held" : ConsoleHTML.escape(expText))</td><td>\(l.held ? "<span class=\"badge warn\">on hold</span>" : "–")</td></tr>"
            }
            body += "</tbody></table>"
        }
        body += "</div><div class=\"card\"><h2>Legal holds</h2>"
        if holds.isEmpty {
            body += "<p class=\"empty\">No active legal holds.</p>"
        } else {
            body += "<table><thead><tr><th>Hold</th><th>Tenant</th><th>From</th><th>To</th><th>By</th><th>Reason</th>\(r.session.isAdmin ? "<th></th>" : "")</tr></thead><tbody>"
            for h in holds {
                body += "<tr><td>\(h.id)</td><td>\(ConsoleHTML.escape(h.tenantID))</td><td class=\"mono\">\(h.from.map(ConsoleHTML.timestamp) ?? "beginning")</td><td class=\"mono\">\(h.to.map(ConsoleHTML.timestamp) ?? "until released")</td><td>\(ConsoleHTML.escape(h.createdBy))</td><td>\(ConsoleHTML.escape(h.reason))</td>"
                if r.session.isAdmin {
                    body += "<td><form method=\"post\" action=\"/console/retention/holds/\(h.id)/release\">\(r.csrf)<button class=\"secondary\" type=\"submit\">Release</button></form></td>"
                }
                body += "</tr>"
            }
            body += "</tbody></table>"
        }
        if r.session.isAdmin {
            body += "<h3>Place a hold</h3><form class=\"filters\" method=\"post\" action=\"/console/retention/holds\">\(r.csrf)<label>Tenant<select name=\"tenant\" required>"
            for t in snapshot.tenants.keys.sorted() { body += "<option value=\"\(ConsoleHTML.escape(t))\">\(ConsoleHTML.escape(t))</option>" }
            body += "</select></label><label>From (UTC, optional)<input type=\"datetime-local\" name=\"from\"></label><label>To (UTC, optional)<input type=\"datetime-local\" name=\"to\"></label>"
            body += "<label>Reason (case number)<input name=\"reason\" required maxlength=\"200\"></label><button type=\"submit\">Place hold</button></form>"
        }
        body += "</div><div class=\"card\"><h2>Last retention runs</h2>"
        if runs.isEmpty {
            body += "<p class=\"empty\">No retention run yet (the gateway runs it every audit.retention_interval_seconds; <code>airlock retention run</code> runs it now).</p>"
        } else {
            body += "<table><thead><tr><th>Run</th><th>Started</th><th>Kind</th><th>Status</th><th class=\"num\">Partitions</th><th class=\"num\">Redacted</th><th class=\"num\">Payloads</th><th>Held</th></tr></thead><tbody>"
            for run in runs {
                body += "<tr><td>\(run.id)</td><td class=\"mono\">\(ConsoleHTML.timestamp(run.startedAt))</td><td>\(ConsoleHTML.escape(run.dryRun ? "dry-run" : run.trigger))</td><td><span class=\"badge \(run.status == "ok" ? "ok" : (run.status == "failed" ? "bad" : "warn"))\">\(ConsoleHTML.escape(run.status))</span></td><td class=\"num\">\(run.partitionsDropped)</td><td class=\"num\">\(ConsoleHTML.count(run.eventsRedacted))</td><td class=\"num\">\(ConsoleHTML.count(run.payloadsDeleted))</td><td>\(ConsoleHTML.escape(run.heldTenants.joined(separator: ", ")))</td></tr>"
            }
            body += "</tbody></table>"
        }
        body += "</div>"
        return r.page(title: "Retention", section: "/console/retention", body)
    }

    func place(_ r: ConsoleRequest) async throws -> Response {
        guard let tenant = r.form["tenant"], let reason = r.form["reason"], reason.count <= 200 else {
            throw ConsoleError(.badRequest, "A hold needs a tenant and a reason (at most 200 characters).")
        }
        guard (try r.services.governance.current().tenants[tenant]) != nil else { throw ConsoleError(.notFound, "Unknown tenant.") }
        let from = r.form["from"].flatMap { ConsoleDates.parse($0) }
        let to = r.form["to"].flatMap { ConsoleDates.parse($0) }
        if (r.form["from"] != nil && from == nil) || (r.form["to"] != nil && to == nil) { throw ConsoleError(.badRequest, "From and To must be dates.") }
        let id = try await LegalHolds(client: r.deps.client, logger: r.context.logger).place(tenantID: tenant, from: from, to: to, reason: reason, by: r.actor)
        try await r.record("legal_hold.place", tenant: tenant, target: "hold \(id)",
                           details: ["from": from.map(ConsoleHTML.timestamp) ?? "-", "to": to.map(ConsoleHTML.timestamp) ?? "-", "via": "console"])
        return ConsolePage.redirect(ConsoleHTML.url("/console/retention", [("notice", "Legal hold \(id) placed on tenant \(tenant).")]))
    }

    func release(_ r: ConsoleRequest) async throws -> Response {
        guard let id = r.context.parameters.get("id").flatMap(Int64.init) else { throw ConsoleError(.badRequest, "Bad hold id.") }
        let holds = try await LegalHolds(client: r.deps.client, logger: r.context.logger)
        guard let hold = try await holds.active().first(where: { $0.id == id }) else { throw ConsoleError(.notFound, "No active legal hold with this id.") }
        _ = try await holds.release(tenantID: hold.tenantID, id: id, by: r.actor)
        try await r.record("legal_hold.release", tenant: hold.tenantID, target: "hold \(id)", details: ["via": "console"])
        return ConsolePage.redirect(ConsoleHTML.url("/console/retention", [("notice", "Legal hold \(id) released.")]))
    }
}
