import AirlockCore
import Yams

extension ProviderCatalog {
    /// Parses and validates a providers document (`kind: Providers`).
    public init(yaml: String, file: String? = nil) throws(PolicyValidationError) {
        var reader = YAMLReader(file: file)
        guard let root = reader.compose(yaml), let catalog = ProviderCatalog.read(root, &reader), reader.problems.isEmpty else {
            throw PolicyValidationError(problems: reader.sortedProblems)
        }
        self = catalog
    }

    public static func load(contentsOf path: String) throws(PolicyValidationError) -> ProviderCatalog {
        try ProviderCatalog(yaml: try PolicyFile.read(path), file: path)
    }

    static func read(_ root: Node, _ r: inout YAMLReader) -> ProviderCatalog? {
        guard let f = r.fields(root, "", allowed: ["apiVersion", "kind", "providers"], required: ["apiVersion", "kind", "providers"])
        else { return nil }
        PolicyFile.checkHeader(f, expectedKind: .providers, &r)
        var catalog = ProviderCatalog(providers: [])
        guard let n = f["providers"], let list = r.items(n, "providers") else { return catalog }
        var seen: Set<String> = []
        for (item, path) in list {
            if let nameNode = item["name"], let name = nameNode.scalar?.string, !seen.insert(name).inserted {
                r.report(.duplicate, nameNode, YAMLReader.child(path, "name"), "duplicate provider name '\(name)'")
            }
            if let p = readProvider(item, path, &r) { catalog.providers.append(p) }
        }
        return catalog
    }

    private static let providerKeys = ["name", "kind", "base_url", "region", "models", "priority", "weight", "secret_env",
                                       "api_version", "timeout_seconds", "enabled"]

    private static func readProvider(_ node: Node, _ path: String, _ r: inout YAMLReader) -> ProviderConfig? {
        guard let f = r.fields(node, path, allowed: providerKeys, required: ["name", "kind", "models"]) else { return nil }
        func at(_ key: String) -> String { YAMLReader.child(path, key) }
        let before = r.problems.count
        var p = ProviderConfig(name: "", kind: .openai, region: .local, models: [])
        if let n = f["name"], let name = r.string(n, at("name")) {
            if YAMLReader.isSlug(name) { p.name = name } else { r.report(.invalidValue, n, at("name"), "invalid provider name '\(name)'") }
        }
        var kindKnown = false
        if let n = f["kind"], let k = r.word(n, at("kind"), "provider kind", as: ProviderKind.self) { p.kind = k; kindKnown = true }
        if let n = f["base_url"], let url = r.string(n, at("base_url")) {
            if p.kind == .local {
                r.report(.invalidValue, n, at("base_url"), "the local engine has no base_url")
            } else if let problem = urlProblem(url) {
                r.report(.invalidValue, n, at("base_url"), problem)
            } else {
                p.baseURL = url
            }
        } else if p.kind != .local && kindKnown {
            r.report(.missingField, node, at("base_url"), "missing required field 'base_url'")
        }
        if let n = f["region"], let region = r.string(n, at("region")) {
            if p.kind == .local && region != Region.local.value {
                r.report(.invalidValue, n, at("region"), "the local engine's region is 'local'")
            } else if p.kind != .local && !RegionSet.isValidRegion(region) {
                r.report(.invalidValue, n, at("region"),
                         "invalid region '\(region)' (an ISO 3166 country, optionally with a cloud region: kr, us-east, eu-west)")
            } else {
                p.region = Region(region)
            }
        } else if p.kind != .local && kindKnown {
            r.report(.missingField, node, at("region"), "missing required field 'region'")
        }
        if let n = f["models"], let list = r.items(n, at("models")) {
            if list.isEmpty { r.report(.invalidValue, n, at("models"), "a provider serves at least one model") }
            var names: Set<String> = []
            for (item, itemPath) in list {
                guard let m = readModel(item, itemPath, kind: p.kind, &r) else { continue }
                for name in [m.name] + m.aliases where !names.insert(name).inserted {
                    r.report(.duplicate, item, itemPath, "model name or alias '\(name)' appears twice in this provider")
                }
                p.models.append(m)
            }
        }
        if let n = f["priority"], let v = r.int(n, at("priority"), in: 0...10_000) { p.priority = v }
        if let n = f["weight"], let v = r.int(n, at("weight"), in: 1...1_000) { p.weight = v }
        if let n = f["secret_env"], let v = r.string(n, at("secret_env")) {
            if let problem = envNameProblem(v) { r.report(.invalidValue, n, at("secret_env"), problem) } else { p.secretEnv = v }
        }
        if let n = f["api_version"], let v = r.string(n, at("api_version")) { p.apiVersion = v }
        if p.kind == .azureOpenAI && f["api_version"] == nil {
            r.report(.missingField, node, at("api_version"), "Azure OpenAI needs an api_version (e.g. 2024-10-21)")
        }
        if let n = f["timeout_seconds"], let v = r.double(n, at("timeout_seconds"), in: 1...3_600) { p.timeoutSeconds = v }
        if let n = f["enabled"], let v = r.bool(n, at("enabled")) { p.enabled = v }
        return r.problems.count == before ? p : nil
    }

    private static func readModel(_ node: Node, _ path: String, kind: ProviderKind, _ r: inout YAMLReader) -> ProviderModel? {
        func valid(_ s: String) -> Bool { !s.isEmpty && !s.contains(where: \.isWhitespace) }
        if case .scalar = node {
            guard let name = r.string(node, path) else { return nil }
            guard valid(name) else { r.report(.invalidValue, node, path, "invalid model name '\(name)'"); return nil }
            if kind == .azureOpenAI { r.report(.missingField, node, path, "Azure OpenAI models need a deployment; write {name, deployment}") }
            return ProviderModel(name: name)
        }
        guard let f = r.fields(node, path, allowed: ["name", "aliases", "deployment", "price"], required: ["name"]) else { return nil }
        func at(_ key: String) -> String { YAMLReader.child(path, key) }
        var m = ProviderModel(name: "")
        if let n = f["name"], let name = r.string(n, at("name")) {
            if valid(name) { m.name = name } else { r.report(.invalidValue, n, at("name"), "invalid model name '\(name)'") }
        }
        if let n = f["aliases"], let a = r.strings(n, at("aliases"), "model alias", valid: valid) { m.aliases = a }
        if let n = f["deployment"], let d = r.string(n, at("deployment")) { m.deployment = d }
        if kind == .azureOpenAI && m.deployment == nil { r.report(.missingField, node, at("deployment"), "Azure OpenAI models need a deployment") }
        if let n = f["price"], let pf = r.fields(n, at("price"), allowed: ["cached_input", "input", "output"], required: ["input", "output"]) {
            let range = 0.0...10_000.0
            let input = pf["input"].flatMap { r.double($0, at("price.input"), in: range) }
            let output = pf["output"].flatMap { r.double($0, at("price.output"), in: range) }
            let cached = pf["cached_input"].flatMap { r.double($0, at("price.cached_input"), in: range) }
            if let input, let output { m.price = TokenPrice(cachedInput: cached, input: input, output: output) }
        }
        return m.name.isEmpty ? nil : m
    }

    /// http(s) with a host; plain http only to loopback, so keys never cross a network in clear.
    static func urlProblem(_ url: String) -> String? {
        let lower = url.lowercased()
        let rest: Substring
        if lower.hasPrefix("https://") { rest = lower.dropFirst(8) } else if lower.hasPrefix("http://") { rest = lower.dropFirst(7) } else {
            return "base_url must start with https://"
        }
        let host = rest.split(separator: "/", maxSplits: 1).first.map { $0.split(separator: ":").first ?? $0 } ?? ""
        if host.isEmpty { return "base_url has no host" }
        if lower.hasPrefix("http://") && !(host == "localhost" || host.hasPrefix("127.") || host == "[") && !lower.hasPrefix("http://[::1]") {
            return "plain http is only allowed to a loopback host (localhost, 127.0.0.1, [::1]); use https://"
        }
        return nil
    }

    /// `UPPER_SNAKE` and not something that looks like the key itself.
    static func envNameProblem(_ name: String) -> String? {
        let looksLikeKey = name.hasPrefix("sk-") || name.hasPrefix("sk_") || name.hasPrefix("AKIA") && name.count == 20
            || name.hasPrefix("ghp_") || name.hasPrefix("xox") || name.hasPrefix("eyJ")
        if looksLikeKey {
            return "this looks like a key, not the name of an environment variable; keep the key in the environment and name the variable here"
        }
        let bytes = Array(name.utf8)
        guard let first = bytes.first, (first >= 0x41 && first <= 0x5A) || first == 0x5F,
              bytes.allSatisfy({ ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5F }), bytes.count <= 128
        else { return "invalid environment variable name '\(name)' (upper-case letters, digits and '_')" }
        return nil
    }
}
