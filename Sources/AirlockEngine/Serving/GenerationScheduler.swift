import Foundation
import Synchronization

/// Runs every generation on one dedicated thread (plus the worker pool) with continuous
/// batching: each step gathers one decode token from every running stream and fills the
/// rest of the batch with prompt chunks of newly admitted streams, so all streams share
/// each pass over the weights. New requests join between steps; finished or cancelled
/// ones leave between steps.
final class GenerationScheduler: @unchecked Sendable {
    // `queue` and `stopping` are guarded by `condition`; everything else is owned by the
    // scheduler thread after init.
    let model: LlamaModel
    let tokenizer: BPETokenizer
    let template: ChatTemplate
    let defaultSystemPrompt: String?
    let maxSequences: Int
    private let condition = NSCondition()
    private var queue: [GenerationRequest] = []
    private var stopping = false
    private var active: [ActiveSequence] = []
    private let logits: UnsafeMutablePointer<Float>
    private var thread: Thread?
    private let activeCounter = Atomic<Int>(0)
    private let peakStreams = Atomic<Int>(0)

    /// Streams admitted and not yet finished (for tests and metrics).
    var activeCount: Int { activeCounter.load(ordering: .relaxed) }
    /// The most streams that ever shared one forward pass.
    var peakBatchStreams: Int { peakStreams.load(ordering: .relaxed) }

    init(model: LlamaModel, tokenizer: BPETokenizer, template: ChatTemplate, defaultSystemPrompt: String?,
         maxSequences: Int) {
        self.model = model
        self.tokenizer = tokenizer
        self.template = template
        self.defaultSystemPrompt = defaultSystemPrompt
        self.maxSequences = max(1, min(maxSequences, model.maxBatch))
        logits = .allocate(capacity: self.maxSequences * model.config.vocabSize)
        let t = Thread { [unowned self] in self.run() }
        t.name = "airlock-engine"
        t.stackSize = 8 << 20
        thread = t
        t.start()
    }

    deinit {
        logits.deallocate()
    }

    func submit(_ request: GenerationRequest) {
        condition.lock()
        if stopping {
            condition.unlock()
            request.continuation.finish(throwing: EngineError(.engineStopped, "the local engine is shut down"))
            return
        }
        queue.append(request)
        condition.signal()
        condition.unlock()
    }

    /// Wakes the thread so it notices a cancellation while idle.
    func poke() {
        condition.lock()
        condition.signal()
        condition.unlock()
    }

    /// Fails queued and running requests and stops the thread; returns once it has exited.
    func shutdown() {
        condition.lock()
        stopping = true
        condition.signal()
        condition.unlock()
        while thread?.isFinished == false { usleep(1000) }
    }

    // MARK: scheduler thread

    private func run() {
        while true {
            condition.lock()
            while !stopping && queue.isEmpty && active.isEmpty { condition.wait() }
            if stopping {
                let pending = queue
                queue.removeAll()
                condition.unlock()
                let err = EngineError(.engineStopped, "the local engine is shut down")
                for r in pending { r.continuation.finish(throwing: err) }
                for s in active { s.request.continuation.finish(throwing: err) }
                active.removeAll()
                return
            }
            var admitted: [GenerationRequest] = []
            while active.count + admitted.count < maxSequences && !queue.isEmpty {
                admitted.append(queue.removeFirst())
            }
            condition.unlock()
            for r in admitted { admit(r) }
            active.removeAll { seq in
                if seq.request.isCancelled {
                    seq.request.continuation.finish()
                    return true
                }
                return false
            }
            activeCounter.store(active.count, ordering: .relaxed)
            if !active.isEmpty { step() }
            activeCounter.store(active.count, ordering: .relaxed)
        }
    }

    private func admit(_ r: GenerationRequest) {
        if r.isCancelled { r.continuation.finish(); return }
        let prompt: [Int32]
        switch r.input {
        case .tokens(let t): prompt = t
        case .chat(let messages): prompt = Self.encode(template.render(messages, defaultSystemPrompt: defaultSystemPrompt), tokenizer)
        }
        let ctx = model.config.contextLength
        guard !prompt.isEmpty else {
            r.continuation.finish(throwing: EngineError(.invalidRequest, "the prompt is empty"))
            return
        }
        guard prompt.allSatisfy({ $0 >= 0 && Int($0) < model.config.vocabSize }) else {
            r.continuation.finish(throwing: EngineError(.invalidRequest, "prompt contains token ids outside the vocabulary"))
            return
        }
        guard prompt.count < ctx else {
            r.continuation.finish(throwing: EngineError(.contextLengthExceeded,
                "the prompt has \(prompt.count) tokens but the model's context window is \(ctx) tokens"))
            return
        }
        do {
            let capacity = min(ctx, prompt.count + r.options.maxTokens)
            let cache = try model.makeCache(capacity: capacity)
            active.append(ActiveSequence(request: r, prompt: prompt, cache: cache))
        } catch {
            r.continuation.finish(throwing: error)
        }
    }

    /// Template segments to ids: specials by exact text, text without special parsing.
    static func encode(_ segments: [ChatTemplate.Segment], _ tokenizer: BPETokenizer) -> [Int32] {
        var ids: [Int32] = []
        for s in segments {
            switch s {
            case .special(let name):
                if let id = tokenizer.specialToken(name) { ids.append(id) }
                else { ids += tokenizer.encode(name, parseSpecial: false) }
            case .text(let t):
                ids += tokenizer.encode(t, parseSpecial: false)
            }
        }
        return ids
    }

    private func step() {
        var rows: [LlamaModel.Row] = []
        rows.reserveCapacity(model.maxBatch)
        var owners: [(seq: ActiveSequence, taken: Int, samples: Bool)] = []
        // Decoding streams first (one row each) so their latency does not depend on prefill.
        for seq in active where !seq.inPrefill {
            rows.append(.init(cache: seq.cache, position: seq.past, token: seq.pending, wantsLogits: true))
            owners.append((seq, 1, true))
        }
        for seq in active where seq.inPrefill {
            let budget = model.maxBatch - rows.count
            if budget <= 0 { break }
            let take = min(budget, seq.prompt.count - seq.past)
            let finishes = seq.past + take == seq.prompt.count
            for i in 0..<take {
                let pos = seq.past + i
                rows.append(.init(cache: seq.cache, position: pos, token: seq.prompt[pos],
                                  wantsLogits: finishes && i == take - 1))
            }
            owners.append((seq, take, finishes))
        }
        guard !rows.isEmpty else { return }
        if owners.count > peakStreams.load(ordering: .relaxed) { peakStreams.store(owners.count, ordering: .relaxed) }
        model.forward(rows, logits: logits)

        var logitRow = 0
        var done = Set<ObjectIdentifier>()
        for (seq, taken, samples) in owners {
            seq.past += taken
            guard samples else { continue }
            let l = logits + logitRow * model.config.vocabSize
            logitRow += 1
            let token = seq.sampler.sample(l, vocab: model.config.vocabSize)
            if seq.firstToken == nil { seq.firstToken = ProcessInfo.processInfo.systemUptime }
            if let reason = accept(token, seq) {
                finish(seq, reason)
                done.insert(ObjectIdentifier(seq))
            }
        }
        if !done.isEmpty { active.removeAll { done.contains(ObjectIdentifier($0)) } }
    }

    /// Emits the token's text; returns a finish reason when the stream is complete.
    private func accept(_ token: Int32, _ seq: ActiveSequence) -> FinishReason? {
        if tokenizer.endOfGeneration.contains(token) && !seq.request.options.ignoreEndOfGeneration { return .stop }
        seq.generated += 1
        seq.sampler.observe(CollectionOfOne(token))
        let text = seq.decoder.append(tokenizer.bytes(of: token))
        let (emit, stopped) = seq.stopFilter.push(text)
        if !emit.isEmpty, case .terminated = seq.request.continuation.yield(.text(emit)) {
            seq.request.cancel()
        }
        if stopped {
            seq.hitStopSequence = true
            return .stop
        }
        if seq.generated >= seq.request.options.maxTokens { return .length }
        if seq.past + 1 > seq.cache.capacity { return .length }
        seq.pending = token
        return nil
    }

    private func finish(_ seq: ActiveSequence, _ reason: FinishReason) {
        let c = seq.request.continuation
        if !seq.hitStopSequence {
            // Incomplete UTF-8 and text held back for a stop sequence that never completed.
            let tail = seq.stopFilter.push(seq.decoder.flush())
            let rest = tail.stopped ? tail.emit : tail.emit + seq.stopFilter.flush()
            if !rest.isEmpty { c.yield(.text(rest)) }
        }
        let now = ProcessInfo.processInfo.systemUptime
        let first = seq.firstToken ?? now
        c.yield(.finished(GenerationSummary(finishReason: reason, promptTokens: seq.prompt.count,
                                            completionTokens: seq.generated,
                                            prefillSeconds: first - seq.admitted, decodeSeconds: now - first)))
        c.finish()
    }
}
