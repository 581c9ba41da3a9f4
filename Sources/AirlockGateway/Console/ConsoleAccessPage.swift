import AirlockStore
import Foundation
import Hummingbird

/// `/console/access` (admin): tenants' API keys (ids and prefixes, never secrets), providers
/// (regions, models, the name of the variable holding the secret, never the secret) and
/// console operators. Admins create a key here (as `airlock key create`: stored hashed, the
/// secret shown once on the result page), revoke keys, and enable or disable database
/// providers; each change is recorded like the CLI's (`key.create`, `key.revoke`,
/// `provider.update`). Adding providers and operators stays with the CLI.
struct ConsoleAccessPage: Sendable {
    func render(_ r: ConsoleRequest) async throws -> Response {
        let store = GovernanceStore(client: r.deps.client, logger: r.context.logger)
        let keys = try await store.keys.list(tenant: nil)
        let providers = try await store.providers.list()
        let operators = try await OperatorRepository(client: r.deps.client, logger: r.context.logger).list()
        var body = "<h1>Keys &amp; providers</h1><p class=\"sub\">Add providers and operators with <code>airlock provider</code> and <code>airlock operator</code>; every change is in the audit log.</p>"
        if let notice = r.query["notice"] { body += "<div class=\"notice ok\">\(ConsoleHTML.escape(notice))</div>" }
        let tenants = (try? r.services.governance.current().tenants.keys.sorted()) ?? []
        body += "<div class=\"card\"><h2>Create an API key</h2><form class=\"filters\" method=\"post\" action=\"/console/access/keys\">\(r.csrf)"
        body += "<label>Tenant<select name=\"tenant\" required>"
        for t in tenants { body += "<option value=\"\(ConsoleHTML.escape(t))\">\(ConsoleHTML.escape(t))</option>" }
        body += "</select></label><label>Label (optional)<input name=\"name\" maxlength=\"200\" placeholder=\"e.g. billing-service\"></label>"
        body += "<button type=\"submit\">Create key</button></form><p class=\"legend\">The key is shown once, on the next page; only its hash is stored.</p></div>"
        body += "<div class=\"card\"><h2>API keys</h2>"
        if keys.isEmpty { body += "<p class=\"empty\">No API keys.</p>" } else {
            body += "<table><thead><tr><th>Key</th><th>Tenant</th><th>Prefix</th><th>Name</th><th>Created</th><th>Status</th><th></th></tr></thead><tbody>"
            for k in keys {
                body += "<tr><td class=\"mono\">\(ConsoleHTML.escape(k.id))</td><td>\(ConsoleHTML.escape(k.tenantID))</td><td class=\"mono\">\(ConsoleHTML.escape(k.prefix))…</td><td>\(ConsoleHTML.escape(k.name ?? "–"))</td><td class=\"mono\">\(ConsoleHTML.timestamp(k.createdAt))</td><td>\(k.revokedAt.map { "<span class=\"badge bad\">revoked \(ConsoleHTML.timestamp($0))</span>" } ?? "<span class=\"badge ok\">active</span>")</td>"
                body += "<td>\(k.revokedAt == nil ? "<form method=\"post\" action=\"/console/access/keys/\(ConsoleHTML.escape(k.id))/revoke\">\(r.csrf)<button class=\"danger\" type=\"submit\">Revoke</button></form>" : "")</td></tr>"
            }
            body += "</tbody></table>"
        }
        body += "</div><div class=\"card\"><h2>Providers</h2>"
        let configured = r.services.configuredProviders
        if providers.isEmpty && configured.isEmpty { body += "<p class=\"empty\">No providers.</p>" } else {
            body += "<table><thead><tr><th>Name</th><th>Kind</th><th>Region</th><th>Models</th><th>Secret from</th><th>Source</th><th>Status</th></tr></thead><tbody>"
            for (p, source) in providers.map({ ($0, "database") }) + configured.map({ ($0, "configuration") }) {
                body += "<tr><td>\(ConsoleHTML.escape(p.name))</td><td>\(ConsoleHTML.escape(p.kind.rawValue))</td><td>\(ConsoleHTML.escape(p.region.value))</td><td>\(ConsoleHTML.escape(p.models.map(\.name).joined(separator: ", ")))</td><td class=\"mono\">\(ConsoleHTML.escape(p.secretEnv.map { "$" + $0 } ?? "–"))</td><td>\(source)</td>"
                body += "<td>\(p.enabled ? "<span class=\"badge ok\">enabled</span>" : "<span class=\"badge bad\">disabled</span>")"
                // Only database providers can be switched here; configured ones come from the gateway's settings.
                if source == "database" {
                    body += "<form class=\"actions\" method=\"post\" action=\"/console/access/providers\">\(r.csrf)<input type=\"hidden\" name=\"name\" value=\"\(ConsoleHTML.escape(p.name))\"><input type=\"hidden\" name=\"enabled\" value=\"\(p.enabled ? "false" : "true")\"><button class=\"\(p.enabled ? "danger" : "secondary")\" type=\"submit\">\(p.enabled ? "Disable" : "Enable")</button></form>"
                }
                body += "</td></tr>"
            }
            body += "</tbody></table>"
        }
        body += "</div><div class=\"card\"><h2>Console operators</h2><table><thead><tr><th>Operator</th><th>Name</th><th>Role</th><th>Last sign-in</th><th>Status</th></tr></thead><tbody>"
        for o in operators {
            body += "<tr><td class=\"mono\">\(ConsoleHTML.escape(o.id))</td><td>\(ConsoleHTML.escape(o.name))</td><td>\(o.role.rawValue)</td><td class=\"mono\">\(o.lastSignInAt.map(ConsoleHTML.timestamp) ?? "–")</td><td>\(o.revokedAt == nil ? "<span class=\"badge ok\">active</span>" : "<span class=\"badge bad\">revoked</span>")</td></tr>"
        }
        body += "</tbody></table></div>"
        return r.page(title: "Keys & providers", section: "/console/access", body)
    }

    func revokeKey(_ r: ConsoleRequest) async throws -> Response {
        let id = try r.context.parameters.require("id")
        let key = try await GovernanceStore(client: r.deps.client, logger: r.context.logger).keys.revoke(keyID: id)
        try await r.record("key.revoke", tenant: key.tenantID, target: key.id, details: ["via": "console"])
        return ConsolePage.redirect(ConsoleHTML.url("/console/access", [("notice", "Key \(key.id) of tenant \(key.tenantID) revoked; it stops authenticating within a second.")]))
    }

    /// Creates a key as `airlock key create` does (only its hash is stored) and shows the
    /// secret once, on this response (no redirect: it must not land in a URL or the history).
    /// A key whose creation cannot be recorded is revoked again and never shown.
    func createKey(_ r: ConsoleRequest) async throws -> Response {
        guard let tenant = r.form["tenant"] else { throw ConsoleError(.badRequest, "Choose a tenant.") }
        let keys = GovernanceStore(client: r.deps.client, logger: r.context.logger).keys
        let issued = try await keys.create(tenant: tenant, name: r.form["name"])
        do {
            // Target is the key id; neither the key nor its label (free text) is recorded.
            try await r.record("key.create", tenant: issued.tenantID, target: issued.keyID, details: ["via": "console"])
        } catch is ConsoleAuditUnavailable {
            let revoked = (try? await keys.revoke(keyID: issued.keyID)) != nil
            throw ConsoleError(.serviceUnavailable, "The new key could not be recorded in the audit log, so "
                + (revoked ? "it was revoked again and is not shown." : "it is not shown; revoke \(issued.keyID) below."))
        }
        var body = "<p><a href=\"/console/access\">← Keys &amp; providers</a></p><h1>New API key for \(ConsoleHTML.escape(issued.tenantID))</h1>"
        body += "<div class=\"notice ok\">Key \(ConsoleHTML.escape(issued.keyID)) created. Copy it now: it is shown only this once and cannot be recovered (only its hash is stored).</div>"
        body += "<div class=\"card\"><dl class=\"kv\"><dt>Key id</dt><dd class=\"mono\">\(ConsoleHTML.escape(issued.keyID))</dd><dt>Tenant</dt><dd>\(ConsoleHTML.escape(issued.tenantID))</dd>"
        body += "<dt>Secret</dt><dd><code class=\"secret\" id=\"new-key\">\(ConsoleHTML.escape(issued.plaintextKey))</code></dd></dl>"
        body += "<p class=\"legend\">Clients send it as <code>Authorization: Bearer &lt;key&gt;</code>.</p></div>"
        return r.page(title: "New API key", section: "/console/access", body)
    }

    /// Enables or disables a database provider (as `airlock provider add --replace` with the
    /// flag flipped); gateways stop or resume routing to it within a second.
    func setProvider(_ r: ConsoleRequest) async throws -> Response {
        guard let name = r.form["name"], let enabled = r.form["enabled"].flatMap(Bool.init) else {
            throw ConsoleError(.badRequest, "Give a provider and enabled=true|false.")
        }
        let providers = GovernanceStore(client: r.deps.client, logger: r.context.logger).providers
        guard var provider = try await providers.get(name) else {
            throw ConsoleError(.notFound, "No database provider named \(name). Providers from the gateway's configuration cannot be changed here.")
        }
        guard provider.enabled != enabled else {
            return ConsolePage.redirect(ConsoleHTML.url("/console/access", [("notice", "Provider \(name) is already \(enabled ? "enabled" : "disabled").")]))
        }
        provider.enabled = enabled
        try await providers.update(provider)
        do {
            try await r.record("provider.update", target: name, details: [
                "kind": provider.kind.rawValue, "region": provider.region.value, "models": String(provider.models.count),
                "enabled": String(enabled), "via": "console",
            ])
        } catch is ConsoleAuditUnavailable {
            throw ConsoleError(.serviceUnavailable, "Provider \(name) was \(enabled ? "enabled" : "disabled") but the change could not be recorded in the audit log; check it with airlock provider list.")
        }
        return ConsolePage.redirect(ConsoleHTML.url("/console/access", [("notice", "Provider \(name) \(enabled ? "enabled" : "disabled"); gateways apply it within a second.")]))
    }
}
