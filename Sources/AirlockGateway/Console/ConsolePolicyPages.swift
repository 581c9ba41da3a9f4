import AirlockAudit
import AirlockPolicy
import AirlockStore
import Foundation
import Hummingbird

/// Admin pages for policies: versions per tenant, one version's YAML, a readable diff
/// between two versions (`PolicyRepository.diff`, as `airlock policy diff`), and the explain
/// tool (`PolicyExplainer`, as `airlock policy explain` and `POST /admin/v1/explain`):
/// findings, decision and route for a pasted prompt — nothing is sent upstream or recorded
/// but the fact that an explain ran.
struct ConsolePolicyPages: Sendable {
    func list(_ r: ConsoleRequest) async throws -> Response {
        r.page(title: "Policies", section: "/console/policies", try await listBody(r, tenant: r.query["tenant"], notice: r.query["notice"]))
    }

    /// The tenants table and, for one tenant, its versions and the form to apply a new one
    /// (`yaml` and `problems` refill it after a refused apply).
    func listBody(_ r: ConsoleRequest, tenant: String?, notice: String?, yaml: String? = nil, problems: [String] = []) async throws -> String {
        let snapshot = try r.services.governance.current()
        var applyCard = ""
        var body = "<h1>Policies</h1><p class=\"sub\">Every apply stores an immutable version; the active one is enforced by every gateway within a second.</p>"
        body += "<div class=\"grid\"><div class=\"card\"><h2>Tenants</h2><table><thead><tr><th>Tenant</th><th>Name</th><th>Active policy</th><th>Status</th></tr></thead><tbody>"
        for t in snapshot.tenants.values.sorted(by: { $0.id < $1.id }) {
            let active = snapshot.policies[t.id]
            body += "<tr><td><a \(ConsoleHTML.href("/console/policies", [("tenant", t.id)]))>\(ConsoleHTML.escape(t.id))</a></td><td>\(ConsoleHTML.escape(t.name))</td>"
            body += "<td>\(active.map { "\(ConsoleHTML.escape($0.policy.name)) v\($0.version)" } ?? "default policy")</td><td>\(t.disabled ? "<span class=\"badge bad\">disabled</span>" : "<span class=\"badge ok\">enabled</span>")</td></tr>"
        }
        body += "</tbody></table></div>"
        if let tenant {
            let versions = try await PolicyRepository(client: r.deps.client, logger: r.context.logger).list(tenant: tenant)
            body += "<div class=\"card\"><h2>Versions of \(ConsoleHTML.escape(tenant))</h2>"
            if let notice { body += "<div class=\"notice ok\">\(ConsoleHTML.escape(notice))</div>" }
            if versions.isEmpty {
                body += "<p class=\"empty\">No policy was applied to this tenant; the gateway's default policy applies.</p>"
            } else {
                body += "<table><thead><tr><th>Version</th><th>Policy</th><th>Applied</th><th>By</th><th>SHA-256</th><th></th></tr></thead><tbody>"
                for v in versions.reversed() {
                    body += "<tr><td>v\(v.version)\(v.isActive ? " <span class=\"badge ok\">active</span>" : "")</td><td>\(ConsoleHTML.escape(v.name))</td><td class=\"mono\">\(ConsoleHTML.timestamp(v.appliedAt))</td><td>\(ConsoleHTML.escape(v.appliedBy))</td><td class=\"mono\">\(ConsoleHTML.escape(String(v.sha256.prefix(12))))</td>"
                    body += "<td><a \(ConsoleHTML.href("/console/policies/version", [("tenant", tenant), ("version", String(v.version))]))>View</a>"
                    if v.version > 1 { body += " · <a \(ConsoleHTML.href("/console/policies/diff", [("tenant", tenant), ("from", String(v.version - 1)), ("to", String(v.version))]))>Diff with v\(v.version - 1)</a>" }
                    if !v.isActive {
                        body += "<form class=\"actions\" method=\"post\" action=\"/console/policies/activate\">\(r.csrf)<input type=\"hidden\" name=\"tenant\" value=\"\(ConsoleHTML.escape(tenant))\"><input type=\"hidden\" name=\"version\" value=\"\(v.version)\"><button class=\"secondary\" type=\"submit\">Make v\(v.version) active</button></form>"
                    }
                    body += "</td></tr>"
                }
                body += "</tbody></table>"
                if versions.count > 1 {
                    body += "<h3>Compare two versions</h3><form class=\"filters\" method=\"get\" action=\"/console/policies/diff\"><input type=\"hidden\" name=\"tenant\" value=\"\(ConsoleHTML.escape(tenant))\">"
                    for (name, pick) in [("from", versions.count - 2), ("to", versions.count - 1)] {
                        body += "<label>\(name == "from" ? "Old" : "New")<select name=\"\(name)\">"
                        for (i, v) in versions.enumerated() { body += "<option\(i == pick ? " selected" : "") value=\"\(v.version)\">v\(v.version)</option>" }
                        body += "</select></label>"
                    }
                    body += "<button type=\"submit\">Show diff</button></form>"
                }
            }
            body += "</div>"
            // Full width under the grid: the YAML needs the room.
            applyCard = "<div class=\"card\" id=\"apply\"><h2>Apply a new version</h2>"
            if !problems.isEmpty {
                applyCard += "<div class=\"notice bad\">This policy is invalid; nothing was stored. \(problems.count) problem\(problems.count == 1 ? "" : "s"):<ul class=\"problems\">"
                for p in problems { applyCard += "<li class=\"mono\">\(ConsoleHTML.escape(p))</li>" }
                applyCard += "</ul></div>"
            }
            applyCard += "<form method=\"post\" action=\"/console/policies/apply\">\(r.csrf)<input type=\"hidden\" name=\"tenant\" value=\"\(ConsoleHTML.escape(tenant))\">"
            applyCard += "<label>Policy YAML<textarea name=\"yaml\" class=\"code\" rows=\"16\" required>\(ConsoleHTML.escape(yaml ?? ""))</textarea></label>"
            applyCard += "<p class=\"legend\">Validated as <code>airlock policy apply</code> validates; an invalid policy stores nothing, content identical to the active version changes nothing.</p>"
            applyCard += "<p><button type=\"submit\">Validate and apply</button></p></form></div>"
        }
        body += "</div>" + applyCard
        return body
    }

    /// Validates pasted YAML with the same loader as `airlock policy apply` and stores it as the
    /// tenant's next, active version. An invalid policy stores nothing: the form comes back
    /// with each problem (line, column, field) and the YAML as pasted.
    func apply(_ r: ConsoleRequest) async throws -> Response {
        guard let tenant = r.form["tenant"] else { throw ConsoleError(.badRequest, "Give a tenant.") }
        guard let yaml = r.form.raw("yaml"), !yaml.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw ConsoleError(.badRequest, "Paste the policy YAML to apply.")
        }
        let result: PolicyApplyResult
        do {
            result = try await PolicyRepository(client: r.deps.client, logger: r.context.logger).apply(tenant: tenant, yaml: yaml, appliedBy: r.actor, source: "policy.yaml")
        } catch let e as GovernanceError where e.code == .invalidDocument || e.code == .invalidArgument {
            // The refusal is on record too (never the YAML: counts only).
            try await r.record("policy.apply_refused", tenant: tenant, details: ["problems": String(max(1, e.problems.count)), "via": "console"])
            let problems = e.problems.isEmpty ? [e.message] : e.problems.map(\.description)
            let body = try await listBody(r, tenant: tenant, notice: nil, yaml: yaml, problems: problems)
            return ConsolePage.html(.unprocessableContent, ConsolePage.document(title: "Policies", body: body, session: r.session, section: "/console/policies"))
        }
        let v = result.version
        guard result.outcome == .applied else {
            return ConsolePage.redirect(ConsoleHTML.url("/console/policies", [("tenant", tenant), ("notice", "Unchanged: tenant \(tenant) already runs this content as version \(v.version).")]))
        }
        do {
            try await r.record("policy.apply", tenant: tenant, target: "v\(v.version)", details: ["policy": v.name, "sha256": v.sha256, "via": "console"])
        } catch is ConsoleAuditUnavailable {
            throw ConsoleError(.serviceUnavailable, "Version \(v.version) was applied to \(tenant) but could not be recorded in the audit log; check it and roll back if needed.")
        }
        return ConsolePage.redirect(ConsoleHTML.url("/console/policies", [("tenant", tenant),
            ("notice", "Applied policy \(v.name) to tenant \(tenant) as version \(v.version) (sha256 \(v.sha256.prefix(12))); gateways enforce it within a second.")]))
    }

    /// Makes a stored version active again (as `airlock policy rollback`); gateways apply it within a second.
    func activate(_ r: ConsoleRequest) async throws -> Response {
        guard let tenant = r.form["tenant"], let number = r.form["version"].flatMap(Int.init) else { throw ConsoleError(.badRequest, "Give a tenant and a version.") }
        let result = try await PolicyRepository(client: r.deps.client, logger: r.context.logger).rollback(tenant: tenant, to: number)
        if result.outcome == .rolledBack {
            try await r.record("policy.rollback", tenant: tenant, target: "v\(number)", details: [
                "policy": result.version.name, "sha256": result.version.sha256,
                "previous_version": result.previousVersion.map(String.init) ?? "none", "via": "console",
            ])
        }
        let notice = result.outcome == .rolledBack ? "Tenant \(tenant) now runs version \(number) (was \(result.previousVersion.map { "v\($0)" } ?? "none"))."
                                                   : "Tenant \(tenant) already runs version \(number)."
        return ConsolePage.redirect(ConsoleHTML.url("/console/policies", [("tenant", tenant), ("notice", notice)]))
    }

    func version(_ r: ConsoleRequest) async throws -> Response {
        guard let tenant = r.query["tenant"], let number = r.query["version"].flatMap(Int.init) else { throw ConsoleError(.badRequest, "Give a tenant and a version.") }
        let v = try await PolicyRepository(client: r.deps.client, logger: r.context.logger).version(tenant: tenant, number)
        var body = "<p><a \(ConsoleHTML.href("/console/policies", [("tenant", tenant)]))>← Versions of \(ConsoleHTML.escape(tenant))</a></p>"
        body += "<h1>\(ConsoleHTML.escape(v.name)) v\(v.version)\(v.isActive ? " <span class=\"badge ok\">active</span>" : "")</h1>"
        body += "<p class=\"sub\">Tenant \(ConsoleHTML.escape(tenant)) · applied \(ConsoleHTML.timestamp(v.appliedAt)) by \(ConsoleHTML.escape(v.appliedBy)) · sha256 <span class=\"mono\">\(ConsoleHTML.escape(v.sha256))</span></p>"
        body += "<div class=\"card\"><pre>\(ConsoleHTML.escape(v.content))</pre></div>"
        return r.page(title: "Policy version", section: "/console/policies", body)
    }

    func diff(_ r: ConsoleRequest) async throws -> Response {
        guard let tenant = r.query["tenant"], let from = r.query["from"].flatMap(Int.init), let to = r.query["to"].flatMap(Int.init) else {
            throw ConsoleError(.badRequest, "Give a tenant and two versions.")
        }
        let diff = try await PolicyRepository(client: r.deps.client, logger: r.context.logger).diff(tenant: tenant, from: from, to: to)
        var body = "<p><a \(ConsoleHTML.href("/console/policies", [("tenant", tenant)]))>← Versions of \(ConsoleHTML.escape(tenant))</a></p>"
        body += "<h1>\(ConsoleHTML.escape(tenant)): v\(from) → v\(to)</h1><p class=\"sub\">\(diff.added) line\(diff.added == 1 ? "" : "s") added, \(diff.removed) removed</p><div class=\"card\">"
        if !diff.hasChanges {
            body += "<p class=\"empty\">The two versions are identical.</p>"
        } else {
            body += "<table class=\"diff\"><tbody>"
            for line in diff.lines {
                let (cls, sign) = line.kind == .added ? ("add", "+") : (line.kind == .removed ? ("del", "−") : ("", " "))
                body += "<tr class=\"\(cls)\"><td class=\"ln\">\(line.oldLine.map(String.init) ?? "")</td><td class=\"ln\">\(line.newLine.map(String.init) ?? "")</td><td>\(sign) \(ConsoleHTML.escape(line.text))</td></tr>"
            }
            body += "</tbody></table>"
        }
        body += "</div>"
        return r.page(title: "Policy diff", section: "/console/policies", body)
    }

    func explainForm(_ r: ConsoleRequest) async throws -> Response {
        r.page(title: "Explain", section: "/console/explain", try form(r, tenant: nil, model: nil, classification: nil, prompt: nil) + "")
    }

    func form(_ r: ConsoleRequest, tenant: String?, model: String?, classification: String?, prompt: String?) throws -> String {
        let snapshot = try r.services.governance.current()
        var body = "<h1>Explain a prompt</h1><p class=\"sub\">Paste a prompt to see what the scanner finds, what the tenant's policy decides and where the call would be routed. Nothing is sent to a provider and the prompt is not stored.</p>"
        body += "<div class=\"card\"><form method=\"post\" action=\"/console/explain\">\(r.csrf)<div class=\"filters\"><label>Tenant<select name=\"tenant\" required>"
        for t in snapshot.tenants.keys.sorted() { body += "<option\(t == tenant ? " selected" : "") value=\"\(ConsoleHTML.escape(t))\">\(ConsoleHTML.escape(t))</option>" }
        body += "</select></label><label>Model<input name=\"model\" value=\"\(ConsoleHTML.escape(model ?? "gpt-4o-mini"))\"></label>"
        body += "<label>Classification (optional)<input name=\"classification\" value=\"\(ConsoleHTML.escape(classification ?? ""))\"></label></div>"
        body += "<label>Prompt<textarea name=\"prompt\" required>\(ConsoleHTML.escape(prompt ?? ""))</textarea></label><p><button type=\"submit\">Explain</button></p></form></div>"
        return body
    }

    func explain(_ r: ConsoleRequest) async throws -> Response {
        guard let tenant = r.form["tenant"], let prompt = r.form.raw("prompt"), !prompt.isEmpty else { throw ConsoleError(.badRequest, "Choose a tenant and paste a prompt.") }
        let model = r.form["model"], classification = r.form["classification"]
        let snapshot = try r.services.governance.current()
        guard snapshot.tenants[tenant] != nil else { throw ConsoleError(.notFound, "Unknown tenant.") }
        if let version = snapshot.unloadablePolicies[tenant] {
            throw ConsoleError(.conflict, "Tenant \(tenant): active policy version \(version) no longer validates; the gateway fails closed for this tenant.")
        }
        // Only that an explain ran is recorded — never the prompt.
        try await r.record("policy.explain", tenant: tenant, details: ["via": "console"])
        let explainer = PolicyExplainer(scanner: r.services.scanner)
        let scanned = explainer.scan(text: prompt)
        // Same provider set as the admin API: configuration, then database (wins on a name), then the local engine.
        var providers = r.services.configuredProviders.map { PolicyExplainer.SourcedProvider($0, source: "configuration") }
        for p in snapshot.providers.providers {
            let entry = PolicyExplainer.SourcedProvider(p, source: "database")
            if let i = providers.firstIndex(where: { $0.provider.name == p.name }) { providers[i] = entry } else { providers.append(entry) }
        }
        for p in r.services.catalog(snapshot) where p.isLocal && !providers.contains(where: { $0.provider.isLocal }) {
            providers.append(.init(p, source: "local engine"))
        }
        let e = explainer.explain(snapshot: snapshot, tenant: tenant, model: model, classification: classification, scanned: scanned,
                                  defaultPolicy: r.services.defaultPolicy.policy, defaultPolicyPath: r.services.configuration.defaultPolicy,
                                  providers: providers)
        var body = try form(r, tenant: tenant, model: model, classification: classification, prompt: prompt)
        body += "<div class=\"grid\"><div class=\"card\"><h2>Findings and decision</h2><dl class=\"kv\"><dt>Tenant</dt><dd>\(ConsoleHTML.escape(tenant))</dd><dt>Model</dt><dd>\(ConsoleHTML.escape(e.model))</dd>"
        body += "<dt>Findings</dt><dd>\(scanned.findings.count)</dd><dt>Policy</dt><dd>\(ConsoleHTML.escape(e.policySource))</dd></dl>"
        body += "<pre>\(ConsoleHTML.escape(e.explanation(e.decision)))</pre>"
        if let shadow = e.shadow { body += "<h3>Shadow policy (recorded only, not enforced)</h3><pre>\(ConsoleHTML.escape(e.explanation(shadow)))</pre>" }
        body += "</div><div class=\"card\"><h2>Route</h2><p>Providers: \(ConsoleHTML.escape(providers.isEmpty ? "none configured" : providers.map { "\($0.provider.name) (\($0.provider.region.value), \($0.source))" }.joined(separator: ", ")))</p>"
        body += "<pre>\(ConsoleHTML.escape(e.plan.explanation))</pre></div></div>"
        return r.page(title: "Explain", section: "/console/explain", body)
    }
}
