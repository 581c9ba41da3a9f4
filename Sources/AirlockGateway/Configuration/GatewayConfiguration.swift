import AirlockCore
import AirlockUpstream
import Foundation
import Yams

/// Everything `airlock serve` can be told, from a YAML file (see `airlock.example.yaml`)
/// with environment overrides. Secrets never live here: providers name the environment
/// variable that holds their key.
public struct GatewayConfiguration: Sendable, Equatable {
    public struct Listen: Sendable, Equatable, Codable {
        public var host: String = "127.0.0.1"
        public var port: Int = 8080
        /// PEM certificate chain and private key: when both are set the listener speaks TLS only.
        public var tlsCertificateFile: String?
        public var tlsKeyFile: String?
        enum CodingKeys: String, CodingKey {
            case host, port, tlsCertificateFile = "tls_certificate_file", tlsKeyFile = "tls_key_file"
        }
        public init() {}
        public var usesTLS: Bool { tlsCertificateFile != nil }
    }

    public struct Database: Sendable, Equatable, Codable {
        /// External server; when absent a managed local server is started.
        public var url: String?
        /// Folder for the managed server (data, socket, log).
        public var managedDirectory: String = ".airlock/postgres"
        /// Database name inside the managed server.
        public var managedDatabase: String = "airlock"
        public var poolSize: Int = 20
        enum CodingKeys: String, CodingKey { case url, managedDirectory = "managed_dir", managedDatabase = "managed_database", poolSize = "pool_size" }
        public init() {}
    }

    public struct Limits: Sendable, Equatable, Codable {
        public var maxBodyBytes: Int = 4 << 20
        /// A whole request body must arrive within this time (408 after), so clients that
        /// trickle a body byte by byte cannot hold connections and handlers forever.
        public var bodyTimeoutSeconds: Double = 30
        /// Connections with no request in flight are closed after this much silence, so idle
        /// or half-sent connections cannot pile up (each holds a file descriptor).
        public var idleTimeoutSeconds: Double = 60
        /// Client connections held at once; more are answered 503 and closed. Nil: the
        /// open-files limit less a reserve for the gateway's own descriptors.
        public var maxConnections: Int?
        /// Connections one client address may hold at once; more are answered 503 and closed.
        /// Nil: no such cap (behind a proxy every connection has the proxy's address).
        public var maxConnectionsPerClient: Int?
        enum CodingKeys: String, CodingKey {
            case maxBodyBytes = "max_body_bytes", bodyTimeoutSeconds = "body_timeout_seconds", idleTimeoutSeconds = "idle_timeout_seconds"
            case maxConnections = "max_connections", maxConnectionsPerClient = "max_connections_per_client"
        }
        public init() {}
    }

    public struct Upstream: Sendable, Equatable, Codable {
        public var connectTimeoutSeconds: Double = 5
        public var readTimeoutSeconds: Double = 120
        public var requestTimeoutSeconds: Double = 900
        /// Largest non-streamed provider answer Airlock will buffer.
        public var maxResponseBytes: Int = 64 << 20
        enum CodingKeys: String, CodingKey {
            case connectTimeoutSeconds = "connect_timeout_seconds", readTimeoutSeconds = "read_timeout_seconds"
            case requestTimeoutSeconds = "request_timeout_seconds", maxResponseBytes = "max_response_bytes"
        }
        public init() {}
    }

    public struct Provider: Sendable, Equatable, Codable {
        public var name: String
        public var kind: ProviderEndpoint.Kind = .compatible
        public var baseURL: String
        public var region: String = "us"
        /// Name of the environment variable holding the API key (never the key).
        public var apiKeyEnv: String?
        public var models: [String] = []
        public var azureAPIVersion: String?
        /// Lower is tried first; equal priorities share traffic by weight.
        public var priority: Int = 100
        public var weight: Int = 1
        enum CodingKeys: String, CodingKey {
            case name, kind, baseURL = "base_url", region, apiKeyEnv = "api_key_env", models, azureAPIVersion = "azure_api_version", priority, weight
        }
        public init(name: String, kind: ProviderEndpoint.Kind = .compatible, baseURL: String, region: String = "us", apiKeyEnv: String? = nil, models: [String]) {
            self.name = name
            self.kind = kind
            self.baseURL = baseURL
            self.region = region
            self.apiKeyEnv = apiKeyEnv
            self.models = models
        }
        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            name = try c.decode(String.self, forKey: .name)
            kind = try c.decodeIfPresent(ProviderEndpoint.Kind.self, forKey: .kind) ?? .compatible
            baseURL = try c.decode(String.self, forKey: .baseURL)
            region = try c.decodeIfPresent(String.self, forKey: .region) ?? "us"
            apiKeyEnv = try c.decodeIfPresent(String.self, forKey: .apiKeyEnv)
            models = try c.decodeIfPresent([String].self, forKey: .models) ?? []
            azureAPIVersion = try c.decodeIfPresent(String.self, forKey: .azureAPIVersion)
            priority = try c.decodeIfPresent(Int.self, forKey: .priority) ?? 100
            weight = try c.decodeIfPresent(Int.self, forKey: .weight) ?? 1
        }
    }

    public var listen = Listen()
    public var database = Database()
    public var limits = Limits()
    public var upstream = Upstream()
    public var providers: [Provider] = []
    public var auth = Auth()
    public var local = Local()
    public var audit = Audit()
    public var governance = Governance()
    /// Policy applied to tenants that have none: a file path, or a shipped policy name.
    public var defaultPolicy: String = "default"
    /// How long in-flight requests may take to finish after SIGTERM/SIGINT.
    public var shutdownGraceSeconds: Double = 30
    public var logLevel: String = "info"

    public init() {}
}

extension GatewayConfiguration: Codable {
    enum CodingKeys: String, CodingKey {
        case listen, database, limits, upstream, providers, shutdownGraceSeconds = "shutdown_grace_seconds", logLevel = "log_level"
        case auth, local, audit, governance, defaultPolicy = "default_policy"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        listen = try c.decodeIfPresent(Listen.self, forKey: .listen) ?? Listen()
        database = try c.decodeIfPresent(Database.self, forKey: .database) ?? Database()
        limits = try c.decodeIfPresent(Limits.self, forKey: .limits) ?? Limits()
        upstream = try c.decodeIfPresent(Upstream.self, forKey: .upstream) ?? Upstream()
        providers = try c.decodeIfPresent([Provider].self, forKey: .providers) ?? []
        shutdownGraceSeconds = try c.decodeIfPresent(Double.self, forKey: .shutdownGraceSeconds) ?? 30
        logLevel = try c.decodeIfPresent(String.self, forKey: .logLevel) ?? "info"
        auth = try c.decodeIfPresent(Auth.self, forKey: .auth) ?? Auth()
        local = try c.decodeIfPresent(Local.self, forKey: .local) ?? Local()
        audit = try c.decodeIfPresent(Audit.self, forKey: .audit) ?? Audit()
        governance = try c.decodeIfPresent(Governance.self, forKey: .governance) ?? Governance()
        defaultPolicy = try c.decodeIfPresent(String.self, forKey: .defaultPolicy) ?? "default"
    }
}

extension GatewayConfiguration.Listen {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        host = try c.decodeIfPresent(String.self, forKey: .host) ?? "127.0.0.1"
        port = try c.decodeIfPresent(Int.self, forKey: .port) ?? 8080
        tlsCertificateFile = try c.decodeIfPresent(String.self, forKey: .tlsCertificateFile)
        tlsKeyFile = try c.decodeIfPresent(String.self, forKey: .tlsKeyFile)
    }
}
extension GatewayConfiguration.Database {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        url = try c.decodeIfPresent(String.self, forKey: .url)
        managedDirectory = try c.decodeIfPresent(String.self, forKey: .managedDirectory) ?? ".airlock/postgres"
        managedDatabase = try c.decodeIfPresent(String.self, forKey: .managedDatabase) ?? "airlock"
        poolSize = try c.decodeIfPresent(Int.self, forKey: .poolSize) ?? 20
    }
}
extension GatewayConfiguration.Limits {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        maxBodyBytes = try c.decodeIfPresent(Int.self, forKey: .maxBodyBytes) ?? (4 << 20)
        bodyTimeoutSeconds = try c.decodeIfPresent(Double.self, forKey: .bodyTimeoutSeconds) ?? 30
        idleTimeoutSeconds = try c.decodeIfPresent(Double.self, forKey: .idleTimeoutSeconds) ?? 60
        maxConnections = try c.decodeIfPresent(Int.self, forKey: .maxConnections)
        maxConnectionsPerClient = try c.decodeIfPresent(Int.self, forKey: .maxConnectionsPerClient)
    }
}
extension GatewayConfiguration.Upstream {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        connectTimeoutSeconds = try c.decodeIfPresent(Double.self, forKey: .connectTimeoutSeconds) ?? 5
        readTimeoutSeconds = try c.decodeIfPresent(Double.self, forKey: .readTimeoutSeconds) ?? 120
        requestTimeoutSeconds = try c.decodeIfPresent(Double.self, forKey: .requestTimeoutSeconds) ?? 900
        maxResponseBytes = try c.decodeIfPresent(Int.self, forKey: .maxResponseBytes) ?? (64 << 20)
    }
}
