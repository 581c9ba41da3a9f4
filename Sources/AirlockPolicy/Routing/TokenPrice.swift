/// Published list price in USD per one million tokens.
public struct TokenPrice: Sendable, Hashable, Codable {
    public var cachedInput: Double?
    public var input: Double
    public var output: Double

    public init(cachedInput: Double? = nil, input: Double, output: Double) {
        self.cachedInput = cachedInput
        self.input = input
        self.output = output
    }

    /// Cost in USD; cached tokens are part of `inputTokens` (as OpenAI's `usage` counts them)
    /// and billed at the cached rate when there is one.
    public func cost(inputTokens: Int, cachedInputTokens: Int = 0, outputTokens: Int) -> Double {
        let cached = min(max(cachedInputTokens, 0), inputTokens)
        let fresh = Double(inputTokens - cached) * input
        let reused = Double(cached) * (cachedInput ?? input)
        return (fresh + reused + Double(outputTokens) * output) / 1_000_000
    }

    enum CodingKeys: String, CodingKey { case cachedInput = "cached_input", input, output }
}
