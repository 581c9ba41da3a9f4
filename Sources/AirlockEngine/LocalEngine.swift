// AirlockEngine — in-process LLM inference for Airlock's `local` provider.
//
// Public API
// ----------
//   let engine = try LocalEngine(modelPath: "models/SmolLM2-135M-Instruct.Q4_1.gguf", threads: 2)
//   engine.modelName       // "SmolLM2-135M-Instruct.Q4_1" (file name without .gguf, or `modelName:`)
//   engine.contextLength   // tokens in the context window (GGUF `llama.context_length`)
//   let stream = engine.generate(messages: [ChatMessage(role: "user", content: "Hi")],
//                                options: GenerationOptions(maxTokens: 64, temperature: 0.7))
//   for try await event in stream {
//       switch event {
//       case .text(let delta):     // whole UTF-8 code points, never split
//       case .finished(let s):     // last event: s.finishReason (.stop / .length),
//       }                          // s.promptTokens, s.completionTokens, timings
//   }
//
// * Generation runs on the engine's own thread and worker pool, never on the caller's
//   executor. Concurrent streams are batched continuously: every step advances every
//   running stream by one token (and admits prompt chunks of new ones) in one pass over
//   the weights.
// * Cancelling the consuming Task or dropping the stream stops its generation before the
//   next step (the sequence and its KV cache are released).
// * Errors are `EngineError` (code + message, never prompt text): `.contextLengthExceeded`
//   when the prompt does not fit, `.invalidRequest` for bad options, `.invalidModelFile` /
//   `.unsupportedModel` from `init`. `EngineError.airlockError` maps to AirlockCore.
// * Weights stay memory-mapped (read-only, shared page cache); each stream's KV cache is
//   fp16 and sized to prompt + maxTokens, committed only as it fills.
//
// Layout: GGUF/ (file format), Kernels/ (quantized dot products, matmul, worker pool),
// Tokenizer/ (byte-level BPE + pre-tokenizers), Chat/ (templates), Model/ (llama forward
// pass, KV cache), Sampling/ (sampler), Serving/ (scheduler, stop sequences).

import Foundation

/// A loaded model ready to serve chat completions. Thread-safe; load once and share.
public final class LocalEngine: Sendable {
    public let modelName: String
    public let contextLength: Int
    public let threadCount: Int
    public let chatTemplate: ChatTemplate
    public let tokenizer: BPETokenizer
    /// Model hyper-parameters (layers, widths, heads, vocabulary).
    public let config: LlamaConfig
    /// Size of the memory-mapped model file in bytes.
    public let modelFileBytes: Int
    /// Bytes of weights read to compute one token (MoE: router, shared and top-k experts only).
    public let weightBytesPerToken: Int
    /// KV-cache bytes per token (all layers; absorbed MLA caches only the latent + rotary key).
    public var kvCacheBytesPerToken: Int { config.cacheBytesPerToken }
    let defaultSystemPrompt: String?
    let scheduler: GenerationScheduler

    /// Loads and validates a GGUF model.
    /// - Parameters:
    ///   - threads: worker threads for the kernels (default: active processor count, max 8).
    ///   - template: chat format; nil detects it from the GGUF's `tokenizer.chat_template`.
    ///   - maxConcurrentStreams: streams decoded together; more requests wait in a queue.
    ///   - maxBatchTokens: rows per forward pass (prompt chunks + one per decoding stream).
    ///   - expertsUsed: routed experts per token instead of the file's top-k (MoE models).
    public init(modelPath: String, threads: Int? = nil, modelName: String? = nil,
                template: ChatTemplate? = nil, maxConcurrentStreams: Int = 8,
                maxBatchTokens: Int = 256, expertsUsed: Int? = nil) throws {
        let gguf = try GGUFFile(path: modelPath)
        let tokenizer = try BPETokenizer(gguf: gguf)
        let config = try LlamaConfig(gguf: gguf, vocabSize: tokenizer.vocabularySize, expertsUsed: expertsUsed)
        let threadCount = max(1, min(threads ?? ProcessInfo.processInfo.activeProcessorCount, 64))
        let pool = WorkerPool(threadCount: threadCount)
        let model = try LlamaModel(gguf: gguf, config: config, pool: pool,
                                   maxBatch: max(maxBatchTokens, maxConcurrentStreams))
        let templateText = gguf.string("tokenizer.chat_template")
        let chosen = template ?? templateText.flatMap(ChatTemplate.detect(fromTemplate:)) ?? .chatML
        let system = chosen == .chatML ? templateText.flatMap(ChatTemplate.defaultSystemPrompt(fromTemplate:)) : nil
        gguf.file.adviseWillNeed()

        self.modelName = modelName ?? URL(fileURLWithPath: modelPath).deletingPathExtension().lastPathComponent
        self.contextLength = config.contextLength
        self.threadCount = threadCount
        self.chatTemplate = chosen
        self.tokenizer = tokenizer
        self.config = config
        self.modelFileBytes = gguf.file.count
        self.weightBytesPerToken = model.weightBytesPerToken
        self.defaultSystemPrompt = system
        self.scheduler = GenerationScheduler(model: model, tokenizer: tokenizer, template: chosen,
                                             defaultSystemPrompt: system, maxSequences: maxConcurrentStreams)
    }

    deinit {
        scheduler.shutdown()
    }

    /// Streams the assistant's reply to a conversation.
    public func generate(messages: [ChatMessage], options: GenerationOptions = GenerationOptions())
        -> AsyncThrowingStream<GenerationEvent, any Error> {
        start(.chat(messages), options)
    }

    /// Same, with `(role, content)` pairs.
    public func generate(messages: [(role: String, content: String)], options: GenerationOptions = GenerationOptions())
        -> AsyncThrowingStream<GenerationEvent, any Error> {
        start(.chat(messages.map { ChatMessage(role: $0.role, content: $0.content) }), options)
    }

    /// Continues raw token ids (benchmarks, tests); no chat template is applied.
    public func generate(promptTokens: [Int32], options: GenerationOptions = GenerationOptions())
        -> AsyncThrowingStream<GenerationEvent, any Error> {
        start(.tokens(promptTokens), options)
    }

    /// The prompt token ids a conversation is rendered to (for usage accounting up front).
    public func promptTokens(for messages: [ChatMessage]) -> [Int32] {
        GenerationScheduler.encode(chatTemplate.render(messages, defaultSystemPrompt: defaultSystemPrompt), tokenizer)
    }

    /// Fails queued and running streams with `.engineStopped` and stops the engine thread.
    public func shutdown() {
        scheduler.shutdown()
    }

    private func start(_ input: GenerationRequest.Input, _ options: GenerationOptions)
        -> AsyncThrowingStream<GenerationEvent, any Error> {
        let (stream, continuation) = AsyncThrowingStream<GenerationEvent, any Error>.makeStream()
        do {
            try options.validate()
        } catch {
            continuation.finish(throwing: error)
            return stream
        }
        let request = GenerationRequest(input: input, options: options, continuation: continuation)
        let scheduler = self.scheduler
        continuation.onTermination = { reason in
            if case .cancelled = reason {
                request.cancel()
                scheduler.poke()
            }
        }
        scheduler.submit(request)
        return stream
    }
}
