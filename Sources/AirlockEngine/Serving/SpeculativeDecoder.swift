import Foundation

/// Greedy self-speculative decoding with the model's own multi-token-prediction module
/// (DeepSeek-V3 `nextn` block, or a companion file): each step the MTP module drafts the
/// token after next, and the main model checks the current token and the draft in one
/// 2-row forward pass (its weights read once for both). When the main model's argmax at the
/// current token equals the draft, the step yields two tokens; otherwise one, and the
/// draft's cache row is dropped. The output is the plain greedy sequence by construction
/// (every emitted token is a main-model argmax); only the number of main passes changes.
///
/// Greedy only: with temperature > 0 speculation is not used (callers decode plainly).
/// Single sequence, synchronous, on the calling thread (bench and tests); the serving
/// scheduler does not use it.
public final class SpeculativeDecoder {
    public struct Stats: Sendable, Equatable {
        /// Tokens generated (after the prompt).
        public var tokens = 0
        /// Main-model forward passes after the prompt (one per step, 1 or 2 rows).
        public var mainSteps = 0
        /// Drafts checked by the main model, and how many it agreed with.
        public var drafted = 0
        public var accepted = 0
        /// Wall time of the decode steps (prompt excluded), seconds, and the part of it
        /// spent in the MTP module.
        public var decodeSeconds = 0.0
        public var draftSeconds = 0.0

        public init() {}

        public var acceptanceRate: Double { drafted == 0 ? 0 : Double(accepted) / Double(drafted) }
        /// Decode tokens per main pass (the first token, from the prompt pass, not counted):
        /// 1 for plain decoding, 1 + acceptance rate when every pass checks a draft.
        public var tokensPerMainStep: Double { mainSteps == 0 ? 0 : Double(tokens - 1) / Double(mainSteps) }
        /// Decode throughput; the first token (from the prompt pass) is not counted.
        public var tokensPerSecond: Double { decodeSeconds > 0 ? Double(max(0, tokens - 1)) / decodeSeconds : 0 }
    }

    public let tokenizer: BPETokenizer
    public let config: LlamaConfig
    let model: LlamaModel
    private let cache: KVCache
    private let draftCache: KVCache?
    private let logits: UnsafeMutablePointer<Float>
    private let draftLogitsBuffer: UnsafeMutablePointer<Float>
    /// Main hidden states of the last forward pass's rows, copied out of the scratch.
    private let hidden: UnsafeMutablePointer<Float>
    /// Test hook: replaces the MTP draft for absolute position `position` (its argument is
    /// the module's own draft), to force every draft right or wrong.
    var draftOverride: ((_ position: Int, _ draft: Int32) -> Int32)?

    /// - Parameter draftPath: a companion GGUF holding the MTP block (`nextn` tensors) for a
    ///   model whose file has none; nil uses the model's own `nextn` blocks, if any.
    public init(modelPath: String, threads: Int, capacity: Int = 1024, maxBatch: Int = 64,
                draftPath: String? = nil) throws {
        let gguf = try GGUFFile(path: modelPath)
        tokenizer = try BPETokenizer(gguf: gguf)
        config = try LlamaConfig(gguf: gguf, vocabSize: tokenizer.vocabularySize)
        model = try LlamaModel(gguf: gguf, config: config, pool: WorkerPool(threadCount: threads), maxBatch: max(2, maxBatch))
        if let draftPath { try model.attachNextN(GGUFFile(path: draftPath)) }
        let cap = min(capacity, config.contextLength)
        cache = try model.makeCache(capacity: cap)
        draftCache = model.nextn.isEmpty ? nil : try model.makeNextNCache(capacity: cap)
        logits = .allocate(capacity: model.maxBatch * config.vocabSize)
        draftLogitsBuffer = .allocate(capacity: model.maxBatch * config.vocabSize)
        hidden = .allocate(capacity: model.maxBatch * config.embeddingLength)
    }

    deinit {
        logits.deallocate()
        draftLogitsBuffer.deallocate()
        hidden.deallocate()
    }

    /// Positions held in the main model's cache (a rejected draft's row is not counted).
    public var cachedTokens: Int { cache.length }

    /// Whether the model has a multi-token-prediction module to draft with.
    public var canSpeculate: Bool { draftCache != nil }

    /// Bytes of weights read per main-model token and per MTP draft.
    public var weightBytesPerToken: Int { model.weightBytesPerToken }
    public var draftWeightBytesPerToken: Int { model.nextnWeightBytesPerToken }

    /// Greedy continuation of `prompt`, at most `maxTokens` tokens. Stops after a token in
    /// `stopTokens`, or when `shouldStop` (given all tokens generated so far) says so; that
    /// token is included. `speculative: false` is plain one-token-per-pass greedy decoding.
    public func generate(prompt: [Int32], maxTokens: Int, speculative: Bool, stopTokens: Set<Int32> = [],
                         shouldStop: (([Int32]) -> Bool)? = nil) throws -> (tokens: [Int32], stats: Stats) {
        guard !prompt.isEmpty else { throw EngineError(.invalidRequest, "no tokens to evaluate") }
        guard maxTokens >= 0 else { throw EngineError(.invalidRequest, "max tokens must not be negative") }
        guard prompt.allSatisfy({ $0 >= 0 && Int($0) < config.vocabSize }) else {
            throw EngineError(.invalidRequest, "token id outside the vocabulary")
        }
        guard prompt.count + maxTokens + 1 <= cache.capacity else {
            throw EngineError(.contextLengthExceeded, "prompt and completion exceed the decoder capacity of \(cache.capacity) tokens")
        }
        if speculative && !canSpeculate {
            throw EngineError(.invalidRequest, "the model has no multi-token-prediction (nextn) module to draft with")
        }
        reset()
        var stats = Stats()
        var out: [Int32] = []
        guard maxTokens > 0 else { return (out, stats) }
        // Appends a token; true when generation is over.
        func emit(_ t: Int32) -> Bool {
            out.append(t)
            stats.tokens += 1
            return out.count >= maxTokens || stopTokens.contains(t) || (shouldStop?(out) ?? false)
        }

        prefill(prompt, fillDraftCache: speculative)
        var current = Self.argmax(logits, config.vocabSize)
        if emit(current) { return (out, stats) }
        let started = DispatchTime.now().uptimeNanoseconds
        func finish() -> ([Int32], Stats) {
            stats.decodeSeconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
            return (out, stats)
        }

        let e = config.embeddingLength, v = config.vocabSize
        var position = prompt.count  // where `current` goes
        guard speculative, let draftCache else {
            while true {
                model.forward([.init(cache: cache, position: position, token: current, wantsLogits: true)], logits: logits)
                stats.mainSteps += 1
                current = Self.argmax(logits, v)
                position += 1
                if emit(current) { return finish() }
            }
        }
        // Draft for position+1 from h[position-1] (still in `hidden`, last prompt row) and `current`.
        var draft = draftNext(rows: [(position - 1, current, (prompt.count - 1) % model.maxBatch)], cache: draftCache, stats: &stats)
        while true {
            let pair = out.count + 1 < maxTokens  // a draft is only worth checking when two tokens may follow
            let rows: [LlamaModel.Row] = pair
                ? [.init(cache: cache, position: position, token: current, wantsLogits: true),
                   .init(cache: cache, position: position + 1, token: draft, wantsLogits: true)]
                : [.init(cache: cache, position: position, token: current, wantsLogits: true)]
            model.forward(rows, logits: logits)
            stats.mainSteps += 1
            hidden.update(from: model.scratch.x, count: rows.count * e)
            let next = Self.argmax(logits, v)
            guard pair else {
                _ = emit(next)
                return finish()
            }
            stats.drafted += 1
            if next == draft {
                stats.accepted += 1
                let after = Self.argmax(logits + v, v)
                if emit(next) || emit(after) { return finish() }
                draft = draftNext(rows: [(position, next, 0), (position + 1, after, 1)], cache: draftCache, stats: &stats)
                current = after
                position += 2
            } else {
                cache.length = position + 1  // drop the rejected draft's row
                if emit(next) { return finish() }
                draft = draftNext(rows: [(position, next, 0)], cache: draftCache, stats: &stats)
                current = next
                position += 1
            }
        }
    }

    /// The MTP module's logits at every position but the last of `tokens` (row t predicts
    /// token t+2 from the main hidden state at t and token t+1), and the main model's
    /// logits at the last position. Teacher forcing, for reference checks.
    public func draftLogits(for tokens: [Int32]) throws -> (draft: [[Float]], lastMain: [Float]) {
        guard canSpeculate else {
            throw EngineError(.invalidRequest, "the model has no multi-token-prediction (nextn) module")
        }
        guard tokens.count >= 2, tokens.count <= cache.capacity,
              tokens.allSatisfy({ $0 >= 0 && Int($0) < config.vocabSize }) else {
            throw EngineError(.invalidRequest, "need 2 to \(cache.capacity) tokens inside the vocabulary")
        }
        reset()
        return (prefill(tokens, fillDraftCache: true, keepDraftLogits: true),
                Array(UnsafeBufferPointer(start: logits, count: config.vocabSize)))
    }

    /// Forgets all tokens (main and MTP caches).
    public func reset() {
        cache.length = 0
        draftCache?.length = 0
    }

    /// Runs the prompt through the main model in chunks (logits of the last token in
    /// `logits`); each chunk's hidden states go through the MTP module with the next prompt
    /// token, filling its cache for every position but the last.
    @discardableResult
    private func prefill(_ tokens: [Int32], fillDraftCache: Bool, keepDraftLogits: Bool = false) -> [[Float]] {
        let e = config.embeddingLength, b = model.maxBatch
        var drafts: [[Float]] = []
        var start = 0
        while start < tokens.count {
            let end = min(tokens.count, start + b)
            let rows = (start..<end).map {
                LlamaModel.Row(cache: cache, position: $0, token: tokens[$0], wantsLogits: $0 == tokens.count - 1)
            }
            model.forward(rows, logits: logits)
            guard fillDraftCache, let draftCache else { start = end; continue }
            hidden.update(from: model.scratch.x, count: rows.count * e)
            let draftRows = (start..<min(end, tokens.count - 1)).map { p in
                LlamaModel.DraftRow(cache: draftCache, position: p, token: tokens[p + 1],
                                    hidden: hidden + (p - start) * e, wantsLogits: keepDraftLogits)
            }
            if !draftRows.isEmpty {
                let k = model.nextnForward(draftRows, logits: draftLogitsBuffer)
                for r in 0..<k {
                    drafts.append(Array(UnsafeBufferPointer(start: draftLogitsBuffer + r * config.vocabSize, count: config.vocabSize)))
                }
            }
            start = end
        }
        return drafts
    }

    /// Runs MTP rows (position t, token t+1, row of `hidden` holding h[t]) and returns the
    /// draft for the position after the last row's token.
    private func draftNext(rows: [(position: Int, token: Int32, hiddenRow: Int)], cache draftCache: KVCache,
                           stats: inout Stats) -> Int32 {
        let started = DispatchTime.now().uptimeNanoseconds
        defer { stats.draftSeconds += Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9 }
        let e = config.embeddingLength
        let draftRows = rows.enumerated().map { i, r in
            LlamaModel.DraftRow(cache: draftCache, position: r.position, token: r.token,
                                hidden: hidden + r.hiddenRow * e, wantsLogits: i == rows.count - 1)
        }
        model.nextnForward(draftRows, logits: draftLogitsBuffer)
        let draft = Self.argmax(draftLogitsBuffer, config.vocabSize)
        let target = rows[rows.count - 1].position + 2
        return draftOverride?(target, draft) ?? draft
    }

    /// The greedy token, as the serving path's sampler picks it at temperature 0.
    static func argmax(_ x: UnsafePointer<Float>, _ n: Int) -> Int32 {
        Sampler.argmax(x, vocab: n).token
    }
}
