import AirlockCore
import AirlockUpstream
import Foundation
import Yams

extension GatewayConfiguration {
    /// Keys each YAML section accepts; anything else is reported as a typo instead of being
    /// silently ignored.
    static let knownKeys: [String: Set<String>] = [
        "": ["listen", "database", "limits", "upstream", "providers", "shutdown_grace_seconds", "log_level",
             "auth", "local", "audit", "governance", "default_policy"],
        "auth": ["required"],
        "local": ["model_path", "threads", "model_alias", "enabled"],
        "audit": ["spool_dir", "chain_id", "checkpoint_key_env", "payload_key_env", "retention_interval_seconds", "batch_linger_ms", "journal"],
        "governance": ["reload_seconds", "max_stale_seconds", "fingerprint_key_env"],
        "listen": ["host", "port", "tls_certificate_file", "tls_key_file"],
        "database": ["url", "managed_dir", "managed_database", "pool_size"],
        "limits": ["max_body_bytes", "body_timeout_seconds", "idle_timeout_seconds", "max_connections", "max_connections_per_client"],
        "upstream": ["connect_timeout_seconds", "read_timeout_seconds", "request_timeout_seconds", "max_response_bytes"],
        "providers[]": ["name", "kind", "base_url", "region", "api_key_env", "models", "azure_api_version", "priority", "weight"],
    ]

    /// Parses YAML text. Errors name the file and the offending key.
    public static func parse(yaml: String, file: String = "configuration") throws(AirlockError) -> GatewayConfiguration {
        let node: Any?
        do { node = try Yams.load(yaml: yaml) } catch {
            throw AirlockError(.invalidRequest, "\(file): not valid YAML (\(GatewayConfiguration.yamlPosition(error)))")
        }
        if node == nil { return GatewayConfiguration() }
        guard let root = node as? [String: Any] else { throw AirlockError(.invalidRequest, "\(file): the top level must be a mapping") }
        try checkKeys(root, section: "", file: file)
        for section in ["listen", "database", "limits", "upstream", "auth", "local", "audit", "governance"] {
            if let sub = root[section] {
                guard let map = sub as? [String: Any] else { throw AirlockError(.invalidRequest, "\(file): '\(section)' must be a mapping") }
                try checkKeys(map, section: section, file: file)
            }
        }
        if let providers = root["providers"] {
            guard let list = providers as? [Any] else { throw AirlockError(.invalidRequest, "\(file): 'providers' must be a list") }
            for (i, p) in list.enumerated() {
                guard let map = p as? [String: Any] else { throw AirlockError(.invalidRequest, "\(file): providers[\(i)] must be a mapping") }
                if map["api_key"] != nil {
                    throw AirlockError(.invalidRequest, "\(file): providers[\(i)].api_key: secrets are not accepted in configuration; put the key in an environment variable and name it in api_key_env")
                }
                try checkKeys(map, section: "providers[]", file: file, path: "providers[\(i)]")
            }
        }
        let config: GatewayConfiguration
        do { config = try YAMLDecoder().decode(GatewayConfiguration.self, from: yaml) } catch {
            throw AirlockError(.invalidRequest, "\(file): \(GatewayConfiguration.describe(decodingError: error))")
        }
        try config.validate(file: file)
        return config
    }

    static func checkKeys(_ map: [String: Any], section: String, file: String, path: String? = nil) throws(AirlockError) {
        let known = knownKeys[section] ?? []
        for key in map.keys.sorted() where !known.contains(key) {
            let prefix = path ?? section
            throw AirlockError(.invalidRequest, "\(file): unknown key '\(prefix.isEmpty ? key : prefix + "." + key)' (expected one of \(known.sorted().joined(separator: ", ")))")
        }
    }

    static func yamlPosition(_ error: any Error) -> String {
        if let e = error as? YamlError, case .scanner(_, _, let mark, _) = e { return "line \(mark.line), column \(mark.column)" }
        if let e = error as? YamlError, case .parser(_, _, let mark, _) = e { return "line \(mark.line), column \(mark.column)" }
        return "syntax error"
    }

    static func describe(decodingError error: any Error) -> String {
        guard let e = error as? DecodingError else { return "invalid configuration" }
        func path(_ ctx: DecodingError.Context) -> String {
            ctx.codingPath.map { $0.intValue.map { "[\($0)]" } ?? "." + $0.stringValue }.joined().trimmingCharacters(in: CharacterSet(charactersIn: "."))
        }
        switch e {
        case .typeMismatch(let type, let ctx): return "\(path(ctx)): expected \(type)"
        case .valueNotFound(_, let ctx): return "\(path(ctx)): value missing"
        case .keyNotFound(let key, let ctx): return "\(path(ctx).isEmpty ? "" : path(ctx) + ".")\(key.stringValue): required"
        case .dataCorrupted(let ctx): return "\(path(ctx)): invalid value"
        @unknown default: return "invalid configuration"
        }
    }

    public func validate(file: String = "configuration") throws(AirlockError) {
        func bad(_ m: String) -> AirlockError { AirlockError(.invalidRequest, "\(file): \(m)") }
        guard (1...65535).contains(listen.port) else { throw bad("listen.port must be 1-65535") }
        guard (listen.tlsCertificateFile == nil) == (listen.tlsKeyFile == nil) else {
            throw bad("listen.tls_certificate_file and listen.tls_key_file must be set together")
        }
        guard limits.maxBodyBytes > 0 else { throw bad("limits.max_body_bytes must be positive") }
        guard limits.bodyTimeoutSeconds > 0, limits.idleTimeoutSeconds > 0 else { throw bad("limits timeouts must be positive") }
        if let max = limits.maxConnections, max < 1 { throw bad("limits.max_connections must be positive") }
        if let max = limits.maxConnectionsPerClient, max < 1 { throw bad("limits.max_connections_per_client must be positive") }
        guard upstream.connectTimeoutSeconds > 0, upstream.readTimeoutSeconds > 0, upstream.requestTimeoutSeconds > 0 else {
            throw bad("upstream timeouts must be positive")
        }
        guard (0...1000).contains(audit.effectiveBatchLingerMilliseconds) else { throw bad("audit.batch_linger_ms must be 0-1000") }
        var names = Set<String>()
        for (i, p) in providers.enumerated() {
            guard !p.name.isEmpty else { throw bad("providers[\(i)].name must not be empty") }
            guard names.insert(p.name).inserted else { throw bad("providers[\(i)].name '\(p.name)' is used twice") }
            guard p.weight >= 0 else { throw bad("providers[\(i)].weight must not be negative") }
            guard p.baseURL.hasPrefix("http://") || p.baseURL.hasPrefix("https://") else {
                throw bad("providers[\(i)].base_url must start with http:// or https://")
            }
        }
    }

    /// File (explicit path, `AIRLOCK_CONFIG`, or `./airlock.yaml` when present), then the
    /// environment: `AIRLOCK_LISTEN_HOST/PORT`, `AIRLOCK_DATABASE_URL`, `AIRLOCK_MAX_BODY_BYTES`, `AIRLOCK_MAX_CONNECTIONS`, `AIRLOCK_MAX_CONNECTIONS_PER_CLIENT`,
    /// and a single upstream from `AIRLOCK_UPSTREAM_BASE_URL` (+ `_MODELS`, `_REGION`,
    /// `_API_KEY_ENV`, `_NAME`, `_KIND`).
    public static func load(path: String?, environment: [String: String] = ProcessInfo.processInfo.environment) throws(AirlockError) -> GatewayConfiguration {
        var config = GatewayConfiguration()
        let candidate = path ?? environment["AIRLOCK_CONFIG"] ?? (FileManager.default.fileExists(atPath: "airlock.yaml") ? "airlock.yaml" : nil)
        if let candidate {
            guard let text = try? String(contentsOfFile: candidate, encoding: .utf8) else {
                throw AirlockError(.invalidRequest, "cannot read configuration file \(candidate)")
            }
            config = try parse(yaml: text, file: candidate)
        }
        try config.applyEnvironment(environment)
        try config.validate(file: candidate ?? "environment")
        return config
    }

    mutating func applyEnvironment(_ env: [String: String]) throws(AirlockError) {
        func int(_ key: String) throws(AirlockError) -> Int? {
            guard let v = env[key] else { return nil }
            guard let i = Int(v) else { throw AirlockError(.invalidRequest, "\(key) must be a whole number") }
            return i
        }
        if let host = env["AIRLOCK_LISTEN_HOST"] { listen.host = host }
        if let port = try int("AIRLOCK_LISTEN_PORT") { listen.port = port }
        if let cert = env["AIRLOCK_TLS_CERTIFICATE_FILE"], !cert.isEmpty { listen.tlsCertificateFile = cert }
        if let key = env["AIRLOCK_TLS_KEY_FILE"], !key.isEmpty { listen.tlsKeyFile = key }
        if let url = env["AIRLOCK_DATABASE_URL"], !url.isEmpty { database.url = url }
        if let dir = env["AIRLOCK_DATA_DIR"] { database.managedDirectory = dir }
        if let max = try int("AIRLOCK_MAX_BODY_BYTES") { limits.maxBodyBytes = max }
        if let max = try int("AIRLOCK_MAX_CONNECTIONS") { limits.maxConnections = max }
        if let max = try int("AIRLOCK_MAX_CONNECTIONS_PER_CLIENT") { limits.maxConnectionsPerClient = max }
        if let level = env["AIRLOCK_LOG_LEVEL"] { logLevel = level }
        if let auth = env["AIRLOCK_AUTH_REQUIRED"] { self.auth.required = !["0", "false", "no", "off"].contains(auth.lowercased()) }
        if let model = env["AIRLOCK_LOCAL_MODEL"] { local.modelPath = model }
        if let spool = env["AIRLOCK_AUDIT_SPOOL_DIR"] { audit.spoolDirectory = spool }
        if let policy = env["AIRLOCK_DEFAULT_POLICY"] { defaultPolicy = policy }
        if let base = env["AIRLOCK_UPSTREAM_BASE_URL"], !base.isEmpty {
            let kindText = env["AIRLOCK_UPSTREAM_KIND"] ?? "openai-compatible"
            guard let kind = ProviderEndpoint.Kind(rawValue: kindText) else {
                throw AirlockError(.invalidRequest, "AIRLOCK_UPSTREAM_KIND must be one of \(ProviderEndpoint.Kind.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            let models = (env["AIRLOCK_UPSTREAM_MODELS"] ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            var provider = Provider(name: env["AIRLOCK_UPSTREAM_NAME"] ?? "upstream", kind: kind, baseURL: base,
                                    region: env["AIRLOCK_UPSTREAM_REGION"] ?? "us", apiKeyEnv: env["AIRLOCK_UPSTREAM_API_KEY_ENV"], models: models)
            provider.azureAPIVersion = env["AIRLOCK_UPSTREAM_AZURE_API_VERSION"]
            providers.removeAll { $0.name == provider.name }
            providers.append(provider)
        }
    }

    /// Provider endpoints with their keys read from the named environment variables.
    public func endpoints(environment: [String: String] = ProcessInfo.processInfo.environment) -> [ProviderEndpoint] {
        providers.map { p in
            ProviderEndpoint(name: p.name, kind: p.kind, baseURL: p.baseURL, region: Region(p.region), models: p.models,
                             apiKey: p.apiKeyEnv.flatMap { environment[$0] }, azureAPIVersion: p.azureAPIVersion)
        }
    }
}
