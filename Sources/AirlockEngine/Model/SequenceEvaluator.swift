/// Synchronous single-sequence evaluation on the calling thread: feed tokens, get the
/// logits of the last one. For tests, parity checks against llama.cpp and benchmarks;
/// serving goes through `LocalEngine`, which batches many sequences.
public final class SequenceEvaluator {
    public let tokenizer: BPETokenizer
    public let config: LlamaConfig
    let model: LlamaModel
    private var cache: KVCache
    private let logits: UnsafeMutablePointer<Float>
    private let logitRows: Int

    /// - Parameter capacity: maximum tokens this evaluator will hold (≤ context length).
    /// - Parameter expertsUsed: routed experts per token instead of the file's top-k (MoE models).
    public init(modelPath: String, threads: Int, capacity: Int = 1024, maxBatch: Int = 64, expertsUsed: Int? = nil) throws {
        let gguf = try GGUFFile(path: modelPath)
        tokenizer = try BPETokenizer(gguf: gguf)
        config = try LlamaConfig(gguf: gguf, vocabSize: tokenizer.vocabularySize, expertsUsed: expertsUsed)
        model = try LlamaModel(gguf: gguf, config: config, pool: WorkerPool(threadCount: threads), maxBatch: maxBatch)
        cache = try model.makeCache(capacity: min(capacity, config.contextLength))
        logitRows = 16
        logits = .allocate(capacity: logitRows * config.vocabSize)
    }

    deinit { logits.deallocate() }

    /// Bytes of weights read to compute one token (MoE: router, shared and top-k experts only).
    public var weightBytesPerToken: Int { model.weightBytesPerToken }

    /// Tokens currently held.
    public var count: Int { cache.length }

    /// Forgets all tokens.
    public func reset() { cache.length = 0 }

    /// Appends tokens (in chunks of the batch size) and returns the last token's logits.
    public func append(_ tokens: [Int32]) throws -> [Float] {
        try appendReturningAll(tokens, all: false)[0]
    }

    /// Appends tokens and returns the logits after every one of them (teacher forcing).
    public func appendAll(_ tokens: [Int32]) throws -> [[Float]] {
        try appendReturningAll(tokens, all: true)
    }

    private func appendReturningAll(_ tokens: [Int32], all: Bool) throws -> [[Float]] {
        guard !tokens.isEmpty else { throw EngineError(.invalidRequest, "no tokens to evaluate") }
        guard cache.length + tokens.count <= cache.capacity else {
            throw EngineError(.contextLengthExceeded, "evaluator capacity of \(cache.capacity) tokens exceeded")
        }
        guard tokens.allSatisfy({ $0 >= 0 && Int($0) < config.vocabSize }) else {
            throw EngineError(.invalidRequest, "token id outside the vocabulary")
        }
        var out: [[Float]] = []
        var start = 0
        // Logit rows are produced in groups no larger than the logits buffer.
        let step = all ? min(model.maxBatch, logitRows) : model.maxBatch
        while start < tokens.count {
            let end = min(tokens.count, start + step)
            let base = cache.length
            let rows = (start..<end).map { i in
                LlamaModel.Row(cache: cache, position: base + i - start, token: tokens[i],
                               wantsLogits: all || i == tokens.count - 1)
            }
            let m = model.forward(rows, logits: logits)
            for r in 0..<m {
                out.append(Array(UnsafeBufferPointer(start: logits + r * config.vocabSize, count: config.vocabSize)))
            }
            start = end
        }
        return out
    }
}
