import AirlockEngine
import ArgumentParser
import Foundation

/// `airlock model …`: model conversions for the local engine.
struct ModelCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model",
        abstract: "Model conversions for the local engine.",
        subcommands: [ModelMoefyCommand.self]
    )
}

/// `airlock model moefy`: converts the dense SmolLM2 GGUF into a DeepSeekMoE-layout GGUF
/// (`deepseek` architecture: fine-grained routed experts + a shared expert, first blocks
/// dense) that both this engine and llama.cpp run, then reports held-out perplexity and
/// speed for several top-k settings against the dense model.
///
/// The calibration texts (the shipped one plus text sampled from the dense model itself,
/// scripts/engine/moe/make_distill_text.py) and the held-out text are tokenized here with
/// the model's own tokenizer; the numeric work (block-by-block over the converted model's
/// own hidden states: clustering neurons into experts, fitting the routers, refitting the
/// down projections by ridge least squares, optionally training each block by gradient
/// distillation, scripts/engine/moe/distill.py) is done by scripts/engine/moe/moefy.py with
/// numpy and the `gguf` package. The held-out text is only used for the report.
struct ModelMoefyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "moefy",
        abstract: "Split a dense model's FFNs into routed + shared experts (MoEfication); prints a JSON report."
    )

    @Option(help: "Dense llama GGUF.")
    var model: String = "models/SmolLM2-135M-Instruct.Q4_1.gguf"

    @Option(help: "Output GGUF.")
    var out: String = ChatCommand.moeModelPath

    // Defaults keep the FFN computed per token under half of the dense model's
    // (1 dense block + 29 × (448 + 9 × 32) of 1536 neurons = 49.7%); 34 experts of 32
    // beat 17 of 64 at the same cost (held-out perplexity 44.3 vs 46.7 at top-8). Experts
    // of 16 do better still (320 shared + 76 × 16, top-26, `--down-type f16`: 31.3 here,
    // 31.4 in llama.cpp) but decode slower (113 vs ~170 tok/s dense), so they are not the default.
    @Option(help: "Routed experts per MoE block.")
    var experts: Int = 34

    @Option(help: "Intermediate neurons per routed expert.")
    var expertSize: Int = 32

    @Option(help: "Intermediate neurons of the shared expert (the most used ones).")
    var sharedSize: Int = 448

    @Option(help: "Routed experts per token written into the file.")
    var topK: Int = 9

    @Option(help: "Leading blocks kept dense.")
    var denseLead: Int = 1

    @Option(help: "Type of the re-grouped expert down projections: q8_0, q4_1 or f16.")
    var downType: String = "q8_0"

    @Option(help: "Calibration text the routers and down projections are fitted on.")
    var calibration: String = "scripts/engine/moe/text/calibration.txt"

    @Option(help: "Text sampled from the dense model itself, added to the calibration (empty: none).")
    var distillation: String = "scripts/engine/moe/text/distill.txt"

    @Option(help: "Ridge strength of the down-projection refit (0: keep the dense down projections).")
    var refit: Double = 1.0

    // Held-out perplexity at top-8 (ours): all 22.6k calibration tokens 44.4, with 2 epochs
    // of distillation 39.5; first 8,192 tokens with --stream-target 0.5 36.8 (146 s on a
    // quiet machine; at top-9, the default, 35.5, llama.cpp 35.7); the same plus 2 epochs of
    // distillation 41.3 (overfits 8k tokens), so distillation is off by default. 16,384
    // tokens at top-9: numpy's figure 36.3 → 35.4 for twice the time.
    @Option(help: "Epochs of gradient distillation per MoE block after the refit (0: none; each costs about as much as the rest of the conversion).")
    var distillEpochs: Int = 0

    @Option(help: "0…1: how far each MoE block's fitting target moves from the dense FFN output at its inputs towards the dense model's residual stream (corrects the drift of the blocks before it).")
    var streamTarget: Double = 0.5

    @Option(help: "Use at most this many calibration tokens (0: all).")
    var maxCalibrationTokens: Int = 8192

    @Option(help: "Held-out text for the perplexity report.")
    var heldout: String = "scripts/engine/moe/text/heldout.txt"

    @Option(help: "Top-k settings to evaluate, comma-separated.")
    var evaluate: String = "4,8,12,16"

    @Option(help: "Worker threads for the evaluation.")
    var threads: Int = 2

    @Option(help: "Python interpreter (needs numpy and gguf).")
    var python: String = "python3"

    @Option(help: "The conversion script.")
    var script: String = "scripts/engine/moe/moefy.py"

    @Option(help: "Script for llama.cpp's perplexity on the same files.")
    var llamaCppScript: String = "scripts/engine/moe/llama_cpp_perplexity.py"

    @Flag(help: "Only convert; skip the perplexity/speed report.")
    var skipEvaluation = false

    @Flag(help: "Do not run llama.cpp in the report.")
    var skipLlamaCpp = false

    @Flag(help: "Do not convert: evaluate an existing --out file (its layout options must match the file).")
    var evaluateOnly = false

    func run() async throws {
        for (path, what) in [(model, "model"), (calibration, "calibration text"), (heldout, "held-out text"), (script, "script")] {
            guard FileManager.default.fileExists(atPath: path) else { throw ValidationError("\(what) not found at \(path)") }
        }
        guard ["q8_0", "q4_1", "f16"].contains(downType) else { throw ValidationError("--down-type must be q8_0, q4_1 or f16") }
        guard refit >= 0, refit.isFinite else { throw ValidationError("--refit must be a non-negative number") }
        guard (0...100).contains(distillEpochs) else { throw ValidationError("--distill-epochs must be 0…100") }
        guard (0...1).contains(streamTarget) else { throw ValidationError("--stream-target must be between 0 and 1") }
        guard maxCalibrationTokens >= 0 else { throw ValidationError("--max-calibration-tokens must be ≥ 0") }
        let dense = try SequenceEvaluator(modelPath: model, threads: threads, capacity: 2048)
        let tokenizer = dense.tokenizer
        var calibrationIDs = tokenizer.encode(try String(contentsOfFile: calibration, encoding: .utf8))
        if !distillation.isEmpty {
            guard FileManager.default.fileExists(atPath: distillation) else {
                throw ValidationError("distillation text not found at \(distillation)")
            }
            calibrationIDs += tokenizer.encode(try String(contentsOfFile: distillation, encoding: .utf8))
        }
        let heldoutIDs = tokenizer.encode(try String(contentsOfFile: heldout, encoding: .utf8))
        guard calibrationIDs.count >= 256, heldoutIDs.count >= 32, heldoutIDs.count <= 2000 else {
            throw ValidationError("calibration needs ≥ 256 tokens, held-out 32…2000 (have \(calibrationIDs.count), \(heldoutIDs.count))")
        }

        var report: [String: Any] = ["out": out, "experts": experts, "expert_size": expertSize, "shared_size": sharedSize,
                                     "top_k": topK, "dense_lead": denseLead, "down_type": downType, "refit": refit,
                                     "distill_epochs": distillEpochs, "stream_target": streamTarget,
                                     "max_calibration_tokens": maxCalibrationTokens,
                                     "calibration_tokens": calibrationIDs.count, "heldout_tokens": heldoutIDs.count]
        if evaluateOnly {
            guard FileManager.default.fileExists(atPath: out) else { throw ValidationError("no converted model at \(out)") }
        } else {
            report["router_capture"] = try convert(calibrationIDs)
        }
        guard !skipEvaluation else { return try print(report) }
        try evaluateFiles(dense, heldoutIDs, into: &report)
    }

    /// Runs moefy.py on the calibration ids; returns its per-block report.
    func convert(_ calibrationIDs: [Int32]) throws -> Any? {
        let idsFile = FileManager.default.temporaryDirectory.appendingPathComponent("airlock-moefy-\(getpid()).json")
        try JSONSerialization.data(withJSONObject: ["calibration": calibrationIDs.map(Int.init)]).write(to: idsFile)
        defer { try? FileManager.default.removeItem(at: idsFile) }
        let conversion = try runPython([script, "--model", model, "--out", out, "--tokens", idsFile.path,
                                        "--experts", "\(experts)", "--expert-size", "\(expertSize)",
                                        "--shared-size", "\(sharedSize)", "--top-k", "\(topK)",
                                        "--dense-lead", "\(denseLead)", "--down-type", downType, "--refit", "\(refit)",
                                        "--distill-epochs", "\(distillEpochs)", "--stream-target", "\(streamTarget)",
                                        "--max-tokens", "\(maxCalibrationTokens)"],
                                       input: nil, echoErrors: true)
        guard conversion.status == 0 else { throw ValidationError("conversion failed (exit \(conversion.status))") }
        return (try? JSONSerialization.jsonObject(with: conversion.output) as? [String: Any])?["layers"]
    }

    /// Perplexity, tokens/s and weight bytes per token of the dense and the MoE file, ours and llama.cpp's.
    func evaluateFiles(_ dense: SequenceEvaluator, _ heldoutIDs: [Int32], into report: inout [String: Any]) throws {
        let ks = evaluate.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
            .filter { (1...experts).contains($0) }
        let denseRun = try measure(dense, heldoutIDs)
        report["dense"] = denseRun.json
        var rows: [[String: Any]] = []
        let ffLayers = Double(dense.config.layerCount)
        for k in ks {
            let moe = try SequenceEvaluator(modelPath: out, threads: threads, capacity: 2048, expertsUsed: k)
            let run = try measure(moe, heldoutIDs)
            var row = run.json
            let moeLayers = ffLayers - Double(denseLead)
            let fraction = (Double(denseLead) + moeLayers * Double(sharedSize + k * expertSize) / Double(dense.config.feedForwardLength)) / ffLayers
            row["top_k"] = k
            row["ffn_fraction_computed"] = Self.round(fraction)
            row["perplexity_ratio_vs_dense"] = Self.round(run.perplexity / denseRun.perplexity)
            row["evaluation_speed_ratio_vs_dense"] = Self.round(run.tokensPerSecond / denseRun.tokensPerSecond)
            rows.append(row)
        }
        report["moe"] = rows
        if !skipLlamaCpp {
            report["llama_cpp"] = llamaCppPerplexity(heldoutIDs, ks)
        }
        try print(report)
    }

    struct Run {
        let perplexity: Double
        let tokensPerSecond: Double
        let weightBytes: Int
        var json: [String: Any] {
            // Token-by-token teacher forcing incl. the softmax over the vocabulary: a rough
            // speed; `airlock bench engine --model … --experts-used K` is the benchmark.
            ["perplexity": ModelMoefyCommand.round(perplexity),
             "evaluation_tokens_per_second": ModelMoefyCommand.round(tokensPerSecond),
             "weight_bytes_per_token": weightBytes]
        }
    }

    /// Teacher-forced perplexity of `ids` and the token-by-token speed of the same pass.
    func measure(_ e: SequenceEvaluator, _ ids: [Int32]) throws -> Run {
        e.reset()
        var nll = 0.0
        let start = DispatchTime.now().uptimeNanoseconds
        // One token per step: the decode path (and the slowest one) is what gets timed.
        var logits = try e.append([ids[0]])
        for i in 1..<ids.count {
            nll -= Self.logSoftmax(logits, Int(ids[i]))
            logits = try e.append([ids[i]])
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return Run(perplexity: exp(nll / Double(ids.count - 1)), tokensPerSecond: Double(ids.count) / seconds,
                   weightBytes: e.weightBytesPerToken)
    }

    static func logSoftmax(_ l: [Float], _ i: Int) -> Double {
        let m = Double(l.max()!)
        var s = 0.0
        for v in l { s += exp(Double(v) - m) }
        return Double(l[i]) - m - log(s)
    }

    func llamaCppPerplexity(_ ids: [Int32], _ ks: [Int]) -> Any {
        guard FileManager.default.fileExists(atPath: llamaCppScript) else { return ["skipped": "\(llamaCppScript) not found"] }
        func ask(_ path: String, _ arch: String, _ ks: [Int]) -> Any? {
            let req: [String: Any] = ["model": path, "tokens": ids.map(Int.init), "arch": arch, "topK": ks]
            guard let data = try? JSONSerialization.data(withJSONObject: req),
                  let r = try? runPython([llamaCppScript], input: data, echoErrors: false) else { return nil }
            if r.status == 3 { return ["skipped": "llama_cpp is not importable"] }
            return try? JSONSerialization.jsonObject(with: r.output)
        }
        return ["dense": ask(model, "llama", []) ?? ["error": "llama.cpp run failed"],
                "moe": ask(out, "deepseek", ks) ?? ["error": "llama.cpp run failed"]]
    }

    func runPython(_ args: [String], input: Data?, echoErrors: Bool) throws -> (status: Int32, output: Data) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [python] + args
        let output = Pipe()
        process.standardOutput = output
        process.standardError = echoErrors ? FileHandle.standardError : FileHandle.nullDevice
        let inPipe = Pipe()
        process.standardInput = input == nil ? FileHandle.nullDevice : inPipe
        do {
            try process.run()
        } catch {
            throw ValidationError("cannot start \(python)")
        }
        if let input {
            inPipe.fileHandleForWriting.write(input)
            try? inPipe.fileHandleForWriting.close()
        }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, data)
    }

    func print(_ report: [String: Any]) throws {
        let data = try JSONSerialization.data(withJSONObject: report, options: [.prettyPrinted, .sortedKeys])
        FileHandle.standardOutput.write(data + Data("\n".utf8))
    }

    static func round(_ v: Double) -> Double { (v * 1000).rounded() / 1000 }
}
