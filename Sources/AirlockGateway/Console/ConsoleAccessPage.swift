import AirlockStore
import Foundation
import Hummingbird

/// `/console/access` (admin): tenants' API keys (ids and prefixes, never secrets), providers
/// (regions, models, the name of the variable holding the secret, never the secret) and
/// console operators. Admins can revoke a key here (as `airlock key revoke`, recorded as
/// `key.revoke`); creating keys, providers and operators stays with the CLI, which prints secrets once.
struct ConsoleAccessPage: Sendable {
    func render(_ r: ConsoleRequest) async throws -> Response {
        let store = GovernanceStore(client: r.deps.client, logger: r.context.logger)
        let keys = try await store.keys.list(tenant: nil)
        let providers = try await store.providers.list()
        let operators = try await OperatorRepository(client: r.deps.client, logger: r.context.logger).list()
        var body = "<h1>Keys &amp; providers</h1><p class=\"sub\">Create and revoke with <code>airlock key</code>, <code>airlock provider</code> and <code>airlock operator</code>; every change is in the audit log.</p>"
        if let notice = r.query["notice"] { body += "<div class=\"notice ok\">\(ConsoleHTML.escape(notice))</div>" }
        body += "<div class=\"card\"><h2>API keys</h2>"
        if keys.isEmpty { body += "<p class=\"empty\">No API keys.</p>" } else {
            body += "<table><thead><tr><th>Key</th><th>Tenant</th><th>Prefix</th><th>Name</th><th>Created</th><th>Status</th><th></th></tr></thead><tbody>"
            for k in keys {
                body += "<tr><td class=\"mono\">\(ConsoleHTML.escape(k.id))</td><td>\(ConsoleHTML.escape(k.tenantID))</td><td class=\"mono\">\(ConsoleHTML.escape(k.prefix))…</td><td>\(ConsoleHTML.escape(k.name ?? "–"))</td><td class=\"mono\">\(ConsoleHTML.timestamp(k.createdAt))</td><td>\(k.revokedAt.map { "<span class=\"badge bad\">revoked \(ConsoleHTML.timestamp($0))</span>" } ?? "<span class=\"badge ok\">active</span>")</td>"
                body += "<td>\(k.revokedAt == nil ? "<form method=\"post\" action=\"/console/access/keys/\(ConsoleHTML.escape(k.id))/revoke\">\(r.csrf)<button class=\"danger\" type=\"submit\">Revoke</button></form>" : "")</td></tr>"
            }
            body += "</tbody></table>"
        }
        body += "</div><div class=\"grid\"><div class=\"card\"><h2>Providers (database)</h2>"
        let configured = r.services.configuredProviders
        if providers.isEmpty && configured.isEmpty { body += "<p class=\"empty\">No providers.</p>" } else {
            body += "<table><thead><tr><th>Name</th><th>Kind</th><th>Region</th><th>Models</th><th>Secret from</th><th>Source</th></tr></thead><tbody>"
            for (p, source) in providers.map({ ($0, "database") }) + configured.map({ ($0, "configuration") }) {
                body += "<tr><td>\(ConsoleHTML.escape(p.name))</td><td>\(ConsoleHTML.escape(p.kind.rawValue))</td><td>\(ConsoleHTML.escape(p.region.value))</td><td>\(ConsoleHTML.escape(p.models.map(\.name).joined(separator: ", ")))</td><td class=\"mono\">\(ConsoleHTML.escape(p.secretEnv.map { "$" + $0 } ?? "–"))</td><td>\(source)</td></tr>"
            }
            body += "</tbody></table>"
        }
        body += "</div><div class=\"card\"><h2>Console operators</h2><table><thead><tr><th>Operator</th><th>Name</th><th>Role</th><th>Last sign-in</th><th>Status</th></tr></thead><tbody>"
        for o in operators {
            body += "<tr><td class=\"mono\">\(ConsoleHTML.escape(o.id))</td><td>\(ConsoleHTML.escape(o.name))</td><td>\(o.role.rawValue)</td><td class=\"mono\">\(o.lastSignInAt.map(ConsoleHTML.timestamp) ?? "–")</td><td>\(o.revokedAt == nil ? "<span class=\"badge ok\">active</span>" : "<span class=\"badge bad\">revoked</span>")</td></tr>"
        }
        body += "</tbody></table></div></div>"
        return r.page(title: "Keys & providers", section: "/console/access", body)
    }

    func revokeKey(_ r: ConsoleRequest) async throws -> Response {
        let id = try r.context.parameters.require("id")
        let key = try await GovernanceStore(client: r.deps.client, logger: r.context.logger).keys.revoke(keyID: id)
        try await r.record("key.revoke", tenant: key.tenantID, target: key.id, details: ["via": "console"])
        return ConsolePage.redirect(ConsoleHTML.url("/console/access", [("notice", "Key \(key.id) of tenant \(key.tenantID) revoked; it stops authenticating within a second.")]))
    }
}
