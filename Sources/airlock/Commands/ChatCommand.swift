import AirlockEngine
import ArgumentParser
import Foundation

/// `airlock chat --local "question"`: one question to the in-process engine, answer streamed
/// to stdout as it is generated. Nothing leaves the machine.
struct ChatCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chat",
        abstract: "Ask one question and stream the answer (--local: in-process engine)."
    )

    @Flag(help: "Answer with the in-process engine; the prompt never leaves the machine.")
    var local = false

    @Option(help: "GGUF model (default: $AIRLOCK_LOCAL_MODEL, else models/SmolLM2-135M-Instruct.Q4_1.gguf).")
    var model: String?

    @Option(help: "Worker threads for the kernels.")
    var threads: Int = 2

    @Option(help: "System prompt (empty: the model's own default).")
    var system: String = "You are a helpful assistant."

    @Option(help: "Maximum tokens to generate.")
    var maxTokens: Int = 256

    @Option(help: "Sampling temperature; 0 is greedy (deterministic).")
    var temperature: Float = 0

    @Option(help: "Top-k (0 disables).")
    var topK: Int = 40

    @Option(help: "Top-p / nucleus (1 disables).")
    var topP: Float = 0.95

    @Option(help: "Min-p (0 disables).")
    var minP: Float = 0.05

    @Option(help: "Repetition penalty (1 disables).")
    var repeatPenalty: Float = 1.0

    @Option(help: "Seed for reproducible sampling.")
    var seed: UInt64?

    @Flag(help: "Print token counts and speed to stderr when done.")
    var verbose = false

    @Argument(help: "The question.")
    var prompt: String

    /// Where `airlock model moefy` writes the MoE conversion of SmolLM2 by default.
    static let moeModelPath = "models/SmolLM2-135M-Instruct-MoE.gguf"

    static func defaultModelPath() -> String {
        if let p = ProcessInfo.processInfo.environment["AIRLOCK_LOCAL_MODEL"], !p.isEmpty { return p }
        return "models/SmolLM2-135M-Instruct.Q4_1.gguf"
    }

    func run() async throws {
        guard local else {
            throw ValidationError("only --local is supported by 'airlock chat'; remote providers are reached through 'airlock serve'")
        }
        let path = model ?? Self.defaultModelPath()
        guard FileManager.default.fileExists(atPath: path) else {
            throw ValidationError("model not found at \(path); run scripts/engine/fetch-model.sh")
        }
        let engine = try LocalEngine(modelPath: path, threads: threads, maxConcurrentStreams: 1)
        var messages: [ChatMessage] = []
        if !system.isEmpty { messages.append(ChatMessage(role: "system", content: system)) }
        messages.append(ChatMessage(role: "user", content: prompt))
        let options = GenerationOptions(maxTokens: maxTokens, temperature: temperature, topK: topK, topP: topP,
                                        minP: minP, repetitionPenalty: repeatPenalty, seed: seed)
        let out = FileHandle.standardOutput
        for try await event in engine.generate(messages: messages, options: options) {
            switch event {
            case .text(let t):
                out.write(Data(t.utf8))
            case .finished(let s):
                out.write(Data("\n".utf8))
                if verbose {
                    let decode = s.completionTokens > 1 ? Double(s.completionTokens - 1) / max(s.decodeSeconds, 1e-9) : 0
                    let line = "[\(s.finishReason.rawValue)] prompt \(s.promptTokens) tokens in \(String(format: "%.3f", s.prefillSeconds)) s, "
                        + "completion \(s.completionTokens) tokens, \(String(format: "%.1f", decode)) tokens/s\n"
                    FileHandle.standardError.write(Data(line.utf8))
                }
            }
        }
        engine.shutdown()
    }
}
