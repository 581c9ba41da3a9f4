import AirlockCore
import AirlockPolicy

extension ProviderConfig {
    /// Checks a provider built in code (CLI flags, admin API) with exactly the rules a
    /// providers YAML file is held to, by rendering it as a one-provider document (JSON is
    /// YAML) and parsing that. Problems name the field (`base_url: …`), not a line.
    public func validate() throws(GovernanceError) {
        let document: JSONValue = .object([
            "apiVersion": .string(Policy.apiVersion), "kind": "Providers", "providers": .array([validationJSON]),
        ])
        do {
            _ = try ProviderCatalog(yaml: document.serialized, file: nil)
        } catch {
            let problems = error.problems.map { problem in
                var p = problem
                p.line = nil
                p.column = nil
                p.file = "provider '\(name)'"
                if p.path.hasPrefix("providers[0].") { p.path.removeFirst("providers[0].".count) }
                else if p.path == "providers[0]" { p.path = "" }
                return p
            }
            throw GovernanceError(.invalidDocument, "invalid provider '\(name)'", problems: problems)
        }
    }

    /// The provider as its YAML form, leaving out empty and absent fields.
    var validationJSON: JSONValue {
        var o: JSONObject = [
            "name": .string(name), "kind": .string(kind.rawValue), "region": .string(region.value),
            "priority": .number(String(priority)), "weight": .number(String(weight)),
            "timeout_seconds": .number(String(timeoutSeconds)), "enabled": .bool(enabled),
        ]
        if let baseURL { o["base_url"] = .string(baseURL) }
        if let secretEnv { o["secret_env"] = .string(secretEnv) }
        if let apiVersion { o["api_version"] = .string(apiVersion) }
        o["models"] = .array(models.map { m in
            var mo: JSONObject = ["name": .string(m.name)]
            if !m.aliases.isEmpty { mo["aliases"] = .array(m.aliases.map(JSONValue.string)) }
            if let d = m.deployment { mo["deployment"] = .string(d) }
            if let price = m.price {
                var po: JSONObject = ["input": .number(String(price.input)), "output": .number(String(price.output))]
                if let c = price.cachedInput { po["cached_input"] = .number(String(c)) }
                mo["price"] = .object(po)
            }
            return .object(mo)
        })
        return .object(o)
    }
}
