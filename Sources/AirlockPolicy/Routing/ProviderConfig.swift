import AirlockCore

/// A configured upstream. Holds the *name* of the environment variable with its key, never
/// the key.
public struct ProviderConfig: Sendable, Hashable, Codable, Identifiable {
    /// Unique slug (`deepseek`, `openai-us`); shown in `x-airlock-route`.
    public var name: String
    public var kind: ProviderKind
    /// `https://api.deepseek.com/v1`; nil for `local`.
    public var baseURL: String?
    /// Where the provider processes data; `local` for the engine.
    public var region: Region
    public var models: [ProviderModel]
    /// Lower is tried first.
    public var priority: Int
    /// Share of traffic among providers of equal priority (≥ 1).
    public var weight: Int
    /// Environment variable that holds the API key (`DEEPSEEK_API_KEY`).
    public var secretEnv: String?
    /// Azure OpenAI `api-version`.
    public var apiVersion: String?
    public var timeoutSeconds: Double
    public var enabled: Bool

    public var id: String { name }

    public init(name: String, kind: ProviderKind, baseURL: String? = nil, region: Region, models: [ProviderModel],
                priority: Int = 100, weight: Int = 1, secretEnv: String? = nil, apiVersion: String? = nil,
                timeoutSeconds: Double = 120, enabled: Bool = true) {
        self.name = name
        self.kind = kind
        self.baseURL = baseURL
        self.region = region
        self.models = models
        self.priority = priority
        self.weight = weight
        self.secretEnv = secretEnv
        self.apiVersion = apiVersion
        self.timeoutSeconds = timeoutSeconds
        self.enabled = enabled
    }

    public var isLocal: Bool { kind == .local }

    /// The model entry serving a requested name or alias.
    public func model(serving requested: String) -> ProviderModel? { models.first { $0.serves(requested) } }

    enum CodingKeys: String, CodingKey {
        case name, kind, baseURL = "base_url", region, models, priority, weight, secretEnv = "secret_env",
             apiVersion = "api_version", timeoutSeconds = "timeout_seconds", enabled
    }
}
