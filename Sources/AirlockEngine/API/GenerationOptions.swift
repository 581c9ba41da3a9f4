/// Sampling and stopping parameters for one generation. Defaults follow llama.cpp's
/// (temperature 0.8, top-k 40, top-p 0.95, min-p 0.05, no repetition penalty).
public struct GenerationOptions: Sendable, Equatable {
    /// Maximum completion tokens; generation ends with finish reason "length" there.
    public var maxTokens: Int = 256
    /// 0 (or less) selects greedy decoding.
    public var temperature: Float = 0.8
    /// Keep only the k most likely tokens (0 disables).
    public var topK: Int = 40
    /// Nucleus: keep the smallest set whose probability reaches p (1 disables).
    public var topP: Float = 0.95
    /// Drop tokens below minP × the top probability (0 disables).
    public var minP: Float = 0.05
    /// Divides positive / multiplies negative logits of recently seen tokens (1 disables).
    public var repetitionPenalty: Float = 1.0
    /// How many recent tokens (prompt included) the penalty looks at.
    public var repetitionWindow: Int = 64
    /// Seed for reproducible sampling; nil draws one at random.
    public var seed: UInt64? = nil
    /// Generation stops before any of these strings; they are not returned.
    public var stop: [String] = []
    /// Keep generating through end-of-turn tokens (benchmarks); their text is empty.
    public var ignoreEndOfGeneration = false

    public init(maxTokens: Int = 256, temperature: Float = 0.8, topK: Int = 40, topP: Float = 0.95,
                minP: Float = 0.05, repetitionPenalty: Float = 1.0, repetitionWindow: Int = 64,
                seed: UInt64? = nil, stop: [String] = [], ignoreEndOfGeneration: Bool = false) {
        self.maxTokens = maxTokens
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.minP = minP
        self.repetitionPenalty = repetitionPenalty
        self.repetitionWindow = repetitionWindow
        self.seed = seed
        self.stop = stop
        self.ignoreEndOfGeneration = ignoreEndOfGeneration
    }

    /// Deterministic argmax decoding.
    public static func greedy(maxTokens: Int = 256, stop: [String] = []) -> GenerationOptions {
        GenerationOptions(maxTokens: maxTokens, temperature: 0, topK: 0, topP: 1, minP: 0, stop: stop)
    }

    func validate() throws {
        guard maxTokens >= 1 else { throw EngineError(.invalidRequest, "max_tokens must be at least 1") }
        guard temperature.isFinite, temperature <= 100 else { throw EngineError(.invalidRequest, "temperature is out of range") }
        guard topK >= 0 else { throw EngineError(.invalidRequest, "top_k must not be negative") }
        guard topP > 0, topP <= 1 else { throw EngineError(.invalidRequest, "top_p must be in (0, 1]") }
        guard minP >= 0, minP <= 1 else { throw EngineError(.invalidRequest, "min_p must be in [0, 1]") }
        guard repetitionPenalty > 0, repetitionPenalty.isFinite else {
            throw EngineError(.invalidRequest, "repetition penalty must be positive")
        }
        guard stop.count <= 16, stop.allSatisfy({ !$0.isEmpty && $0.utf8.count <= 256 }) else {
            throw EngineError(.invalidRequest, "at most 16 non-empty stop sequences of up to 256 bytes")
        }
    }
}
