import AirlockCore

/// Where and how to reach one OpenAI-compatible provider. The API key is read from the
/// environment variable the configuration names; it is never stored in configuration.
public struct ProviderEndpoint: Sendable, Equatable {
    public enum Kind: String, Sendable, Codable, CaseIterable {
        case openai, deepseek, azure, local
        /// Any other OpenAI-compatible server.
        case compatible = "openai-compatible"
    }

    public var name: String
    public var kind: Kind
    /// Base URL including the version path, e.g. `https://api.deepseek.com/v1`.
    public var baseURL: String
    public var region: Region
    public var models: [String]
    public var apiKey: String?
    /// Azure OpenAI wants `api-key` and an `api-version` query; everyone else a Bearer token.
    public var azureAPIVersion: String?

    public init(name: String, kind: Kind, baseURL: String, region: Region, models: [String], apiKey: String? = nil, azureAPIVersion: String? = nil) {
        self.name = name
        self.kind = kind
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.region = region
        self.models = models
        self.apiKey = apiKey
        self.azureAPIVersion = azureAPIVersion
    }

    public func url(for path: String) -> String {
        var url = baseURL + path
        if kind == .azure, let v = azureAPIVersion { url += "?api-version=\(v)" }
        return url
    }
}
