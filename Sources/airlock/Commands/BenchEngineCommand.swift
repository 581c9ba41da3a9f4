import AirlockEngine
import ArgumentParser
import Foundation

/// `airlock bench …`: benchmark groups. `engine` is the in-process inference engine.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks (build with -c release); each prints JSON.",
        subcommands: [BenchEngineCommand.self, BenchGatewayCommand.self, BenchMockUpstreamCommand.self]
    )
}

/// `airlock bench engine`: prefill and decode tokens/s of the local engine, aggregate
/// tokens/s with 1, 4 and 8 concurrent streams, RSS, and read bandwidth. When
/// llama-cpp-python is importable, llama.cpp runs on the same file and prompt, interleaved
/// with ours repetition by repetition (the machine is shared, so only ratios measured
/// back to back mean much), and the ratios are printed.
struct BenchEngineCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "engine",
        abstract: "Benchmark the local inference engine against llama.cpp; prints JSON."
    )

    @Option(help: "GGUF model (default: $AIRLOCK_LOCAL_MODEL, else models/SmolLM2-135M-Instruct.Q4_1.gguf).")
    var model: String?

    @Option(help: "Worker threads (ours and llama.cpp's).")
    var threads: Int = 2

    @Option(help: "Prompt tokens for the prefill measurement.")
    var promptTokens: Int = 128

    @Option(help: "Tokens generated for the decode measurement.")
    var decodeTokens: Int = 128

    @Option(help: "Repetitions (best is reported).")
    var repetitions: Int = 3

    @Option(help: "Concurrent stream counts for the batching measurement.")
    var streams: String = "1,4,8"

    @Option(help: "Python interpreter for the llama.cpp comparison.")
    var python: String = "python3"

    @Option(help: "Script that runs llama.cpp through llama-cpp-python.")
    var llamaCppScript: String = "scripts/engine/bench_llama_cpp.py"

    @Flag(help: "Do not run llama.cpp.")
    var skipLlamaCpp = false

    @Option(help: "Routed experts per token instead of the file's top-k (MoE models; ours only).")
    var expertsUsed: Int?

    @Flag(help: "Greedy self-speculative decoding with the model's multi-token-prediction (nextn) block against plain greedy decoding, same prompt, same run: acceptance rate, tokens per main-model pass, tok/s.")
    var speculative = false

    @Option(help: "With --speculative: a companion GGUF holding the nextn block (for models whose file has none).")
    var draftModel: String?

    @Option(help: "With --speculative: take the prompt from this text file instead of the built-in passage.")
    var promptFile: String?

    func run() async throws {
        let path = model ?? ChatCommand.defaultModelPath()
        guard FileManager.default.fileExists(atPath: path) else {
            throw ValidationError("model not found at \(path); run scripts/engine/fetch-model.sh")
        }
        if speculative {
            try runSpeculative(path: path)
            return
        }
        let streamCounts = streams.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        let maxStreams = max(streamCounts.max() ?? 1, 1)
        let engine = try LocalEngine(modelPath: path, threads: threads, maxConcurrentStreams: maxStreams,
                                     expertsUsed: expertsUsed)
        let prompt = Self.prompt(engine.tokenizer, tokens: promptTokens)

        // Read bandwidth is measured right before each of our repetitions and once at the end:
        // on this shared machine it swings between runs, so each decode is also held against
        // the reading taken with it (paired fractions), besides the highest reading overall.
        let weightBytes = Double(engine.modelFileBytes)
        var bandwidthReadings: [Double] = []
        var pairedFractions: [Double] = []
        var ours = (prefill: 0.0, decode: 0.0)
        var theirs: (prefill: Double, decode: Double, version: String)?
        var llamaNote: String?
        for _ in 0..<max(1, repetitions) {
            let bandwidthNow = MemoryBandwidth.measure(threads: threads)
            bandwidthReadings.append(bandwidthNow)
            // The bandwidth buffer (512 MB) is freed again; the peak reported is the engine's.
            Self.resetPeakRSS()
            let r = try await Self.single(engine, prompt: prompt, decode: decodeTokens)
            pairedFractions.append(r.1 / (bandwidthNow / weightBytes))
            ours = (max(ours.prefill, r.0), max(ours.decode, r.1))
            if !skipLlamaCpp && llamaNote == nil {
                switch runLlamaCpp(path: path, prompt: prompt) {
                case .success(let t):
                    theirs = (max(theirs?.prefill ?? 0, t.0), max(theirs?.decode ?? 0, t.1), t.2)
                case .failure(let note):
                    llamaNote = note.message
                }
            }
        }

        var batching: [[String: Any]] = []
        for k in streamCounts where k > 0 {
            let shortPrompt = Array(prompt.prefix(16))
            let start = DispatchTime.now().uptimeNanoseconds
            let completions = try await withThrowingTaskGroup(of: Int.self) { group in
                for i in 0..<k {
                    group.addTask {
                        var n = 0
                        let options = GenerationOptions(maxTokens: decodeTokens, temperature: 0.7, seed: UInt64(i),
                                                        ignoreEndOfGeneration: true)
                        for try await e in engine.generate(promptTokens: shortPrompt, options: options) {
                            if case .finished(let s) = e { n = s.completionTokens }
                        }
                        return n
                    }
                }
                return try await group.reduce(0, +)
            }
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            batching.append(["streams": k, "completion_tokens": completions, "seconds": Self.round(seconds),
                             "aggregate_tokens_per_second": Self.round(Double(completions) / seconds)])
        }

        let memory = Self.memoryStatus()
        engine.shutdown()
        bandwidthReadings.append(MemoryBandwidth.measure(threads: threads))
        let bandwidth = bandwidthReadings.max() ?? 1
        pairedFractions.sort()
        var result: [String: Any] = [
            "model": engine.modelName,
            "kernels": EngineBuildInfo.kernels,
            "optimized_build": EngineBuildInfo.isOptimized,
            "threads": threads,
            "prompt_tokens": prompt.count,
            "decode_tokens": decodeTokens,
            "architecture": engine.config.architecture,
            "weight_bytes_per_token": engine.weightBytesPerToken,
            "kv_cache_bytes_per_token": engine.kvCacheBytesPerToken,
            "experts_used": engine.config.moe?.expertsUsed as Any,
            "ours": ["prefill_tokens_per_second": Self.round(ours.prefill), "decode_tokens_per_second": Self.round(ours.decode)],
            "batching": batching,
            "memory": [
                "model_file_bytes": engine.modelFileBytes,
                "rss_bytes": memory.rss,
                "peak_rss_bytes": memory.peak,
                "peak_rss_minus_model_bytes": memory.peak - engine.modelFileBytes,
            ],
            "read_bandwidth_gb_per_second": Self.round(bandwidth / 1e9),
            "read_bandwidth_readings_gb_per_second": bandwidthReadings.map { Self.round($0 / 1e9) },
            "decode_fraction_of_paired_bandwidth_limit_median": Self.round(pairedFractions[pairedFractions.count / 2]),
            "decode_bandwidth_limit_tokens_per_second": Self.round(bandwidth / weightBytes),
            "decode_fraction_of_bandwidth_limit": Self.round(ours.decode / (bandwidth / weightBytes)),
        ]
        if let t = theirs {
            result["llama_cpp"] = ["version": t.version, "prefill_tokens_per_second": Self.round(t.prefill),
                                   "decode_tokens_per_second": Self.round(t.decode)]
            result["ratio_vs_llama_cpp"] = ["prefill": Self.round(ours.prefill / t.prefill), "decode": Self.round(ours.decode / t.decode)]
        } else {
            result["llama_cpp"] = ["skipped": llamaNote ?? "--skip-llama-cpp"]
        }
        let data = try JSONSerialization.data(withJSONObject: result, options: [.prettyPrinted, .sortedKeys])
        FileHandle.standardOutput.write(data + Data("\n".utf8))
    }

    /// A fixed English passage, repeated and cut to `tokens` ids.
    static func prompt(_ tokenizer: BPETokenizer, tokens: Int) -> [Int32] {
        let passage = "The history of cartography is the story of how people have tried to describe the world around them. "
            + "Early maps were drawn on clay tablets and showed rivers, fields and cities; later, sailors charted coasts, "
            + "winds and currents so that others could follow the same routes safely. "
        var ids: [Int32] = []
        while ids.count < tokens { ids += tokenizer.encode(passage) }
        return Array(ids.prefix(max(1, tokens)))
    }

    /// Ours: (prefill tokens/s, decode tokens/s) for one prompt through the serving path.
    static func single(_ engine: LocalEngine, prompt: [Int32], decode: Int) async throws -> (Double, Double) {
        let options = GenerationOptions(maxTokens: decode, temperature: 0, topK: 0, topP: 1, minP: 0, ignoreEndOfGeneration: true)
        for try await e in engine.generate(promptTokens: prompt, options: options) {
            if case .finished(let s) = e {
                // The first token comes out of the prefill pass; decode covers the rest.
                return (Double(prompt.count) / s.prefillSeconds, Double(s.completionTokens - 1) / s.decodeSeconds)
            }
        }
        throw EngineError(.engineStopped, "generation ended without a summary")
    }

    struct Note: Error { let message: String }

    func runLlamaCpp(path: String, prompt: [Int32]) -> Result<(Double, Double, String), Note> {
        guard FileManager.default.fileExists(atPath: llamaCppScript) else { return .failure(Note(message: "\(llamaCppScript) not found")) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [python, llamaCppScript]
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        let request: [String: Any] = ["model": path, "threads": threads, "prompt": prompt.map(Int.init),
                                      "decode": decodeTokens, "repetitions": 1]
        do {
            try process.run()
            input.fileHandleForWriting.write(try JSONSerialization.data(withJSONObject: request))
            try input.fileHandleForWriting.close()
        } catch {
            return .failure(Note(message: "cannot start \(python)"))
        }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0,
              let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let p = json["prefill_tps"] as? Double, let d = json["decode_tps"] as? Double else {
            return .failure(Note(message: process.terminationStatus == 3 ? "llama_cpp is not importable" : "llama.cpp run failed"))
        }
        return .success((p, d, json["version"] as? String ?? "?"))
    }

    /// Resets the kernel's high-water mark of this process's RSS (`VmHWM`), Linux's
    /// `clear_refs` value 5; elsewhere a no-op.
    static func resetPeakRSS() {
        if let handle = FileHandle(forWritingAtPath: "/proc/self/clear_refs") {
            handle.write(Data("5".utf8))
            try? handle.close()
        }
    }

    static func memoryStatus() -> (rss: Int, peak: Int) {
        guard let s = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return (0, 0) }
        func kb(_ key: String) -> Int {
            guard let line = s.split(separator: "\n").first(where: { $0.hasPrefix(key) }) else { return 0 }
            return (Int(line.split(separator: " ").dropFirst().first { !$0.isEmpty } ?? "0") ?? 0) * 1024
        }
        return (kb("VmRSS:"), kb("VmHWM:"))
    }

    static func round(_ v: Double) -> Double { (v * 1000).rounded() / 1000 }
}
