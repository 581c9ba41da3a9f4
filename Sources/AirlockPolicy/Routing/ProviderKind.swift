/// How the gateway talks to a provider.
public enum ProviderKind: String, Sendable, Codable, CaseIterable, CustomStringConvertible {
    /// Any OpenAI-compatible endpoint (`/v1/chat/completions`), OpenAI itself included.
    case openai
    /// DeepSeek's API (OpenAI-compatible, `sk-` keys, `reasoning_content`).
    case deepseek
    /// An Azure OpenAI resource: per-model deployments and an `api-version` query.
    case azureOpenAI = "azure-openai"
    /// The in-process engine; region `local`, no URL, no secret.
    case local

    public var description: String { rawValue }
}
