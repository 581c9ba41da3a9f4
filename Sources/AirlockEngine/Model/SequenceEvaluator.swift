/// Synchronous single-sequence evaluation on the calling thread: feed tokens, get the
/// logits of the last one. For tests, parity checks against llama.cpp and benchmarks;
/// serving goes through `LocalEngine`, which batches many sequences.
public final class SequenceEvaluator {
    public let tokenizer: BPETokenizer
    public let config: LlamaConfig
    let model: LlamaModel
    private var cache: KVCache
    private let logits: UnsafeMutablePointer<Float>

    /// - Parameter capacity: maximum tokens this evaluator will hold (≤ context length).
    public init(modelPath: String, threads: Int, capacity: Int = 1024, maxBatch: Int = 64) throws {
        let gguf = try GGUFFile(path: modelPath)
        tokenizer = try BPETokenizer(gguf: gguf)
        config = try LlamaConfig(gguf: gguf, vocabSize: tokenizer.vocabularySize)
        model = try LlamaModel(gguf: gguf, config: config, pool: WorkerPool(threadCount: threads), maxBatch: maxBatch)
        cache = try model.makeCache(capacity: min(capacity, config.contextLength))
        logits = .allocate(capacity: config.vocabSize)
    }

    deinit { logits.deallocate() }

    /// Tokens currently held.
    public var count: Int { cache.length }

    /// Forgets all tokens.
    public func reset() { cache.length = 0 }

    /// Appends tokens (in chunks of the batch size) and returns the last token's logits.
    public func append(_ tokens: [Int32]) throws -> [Float] {
        guard !tokens.isEmpty else { throw EngineError(.invalidRequest, "no tokens to evaluate") }
        guard cache.length + tokens.count <= cache.capacity else {
            throw EngineError(.contextLengthExceeded, "evaluator capacity of \(cache.capacity) tokens exceeded")
        }
        guard tokens.allSatisfy({ $0 >= 0 && Int($0) < config.vocabSize }) else {
            throw EngineError(.invalidRequest, "token id outside the vocabulary")
        }
        var start = 0
        while start < tokens.count {
            let end = min(tokens.count, start + model.maxBatch)
            let base = cache.length
            let rows = (start..<end).map { i in
                LlamaModel.Row(cache: cache, position: base + i - start, token: tokens[i], wantsLogits: i == tokens.count - 1)
            }
            model.forward(rows, logits: logits)
            start = end
        }
        return Array(UnsafeBufferPointer(start: logits, count: config.vocabSize))
    }
}
