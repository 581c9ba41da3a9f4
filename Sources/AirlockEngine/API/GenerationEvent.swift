/// What a generation stream delivers: text deltas (always whole UTF-8 code points), then
/// exactly one `.finished` as the last element before the stream ends.
public enum GenerationEvent: Sendable, Equatable {
    case text(String)
    case finished(GenerationSummary)
}

/// Why generation ended, in OpenAI's `finish_reason` vocabulary.
public enum FinishReason: String, Sendable, Equatable {
    /// End-of-turn token or a stop sequence.
    case stop
    /// `maxTokens` reached or the context window is full.
    case length
}

/// Token counts (OpenAI `usage`) and timings of one generation.
public struct GenerationSummary: Sendable, Equatable {
    public let finishReason: FinishReason
    public let promptTokens: Int
    public let completionTokens: Int
    /// Seconds from admission to the first sampled token (prompt processing).
    public let prefillSeconds: Double
    /// Seconds from the first sampled token to the end.
    public let decodeSeconds: Double

    public var totalTokens: Int { promptTokens + completionTokens }
}
