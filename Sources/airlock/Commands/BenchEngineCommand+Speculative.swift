import AirlockEngine
import ArgumentParser
import Foundation

/// `airlock bench engine --speculative`: plain greedy decoding and MTP self-speculative
/// greedy decoding of the same prompt, alternated repetition by repetition (the machine is
/// shared: only figures measured back to back compare), single sequence, EOS ignored.
extension BenchEngineCommand {
    func runSpeculative(path: String) throws {
        let decoder: SpeculativeDecoder
        do {
            decoder = try SpeculativeDecoder(modelPath: path, threads: threads, capacity: promptTokens + decodeTokens + 8,
                                             draftPath: draftModel)
        } catch let e as EngineError {
            throw ValidationError(e.message)
        }
        guard decoder.canSpeculate else {
            throw ValidationError("the model has no multi-token-prediction (nextn) block; pass --draft-model with a companion file")
        }
        var prompt = Self.prompt(decoder.tokenizer, tokens: promptTokens)
        if let promptFile {
            guard let text = try? String(contentsOfFile: promptFile, encoding: .utf8) else {
                throw ValidationError("cannot read \(promptFile)")
            }
            prompt = Array(decoder.tokenizer.encode(text).prefix(max(1, promptTokens)))
        }
        var plainBest = 0.0, specBest = 0.0
        var plainTokens: [Int32] = [], specTokens: [Int32] = []
        var stats = SpeculativeDecoder.Stats()
        for _ in 0..<max(1, repetitions) {
            let p = try decoder.generate(prompt: prompt, maxTokens: decodeTokens, speculative: false)
            plainBest = max(plainBest, p.stats.tokensPerSecond)
            plainTokens = p.tokens
            let s = try decoder.generate(prompt: prompt, maxTokens: decodeTokens, speculative: true)
            specBest = max(specBest, s.stats.tokensPerSecond)
            specTokens = s.tokens
            stats = s.stats
        }
        let result: [String: Any] = [
            "model": URL(fileURLWithPath: path).lastPathComponent,
            "draft_model": draftModel.map { URL(fileURLWithPath: $0).lastPathComponent } ?? "nextn blocks of the model file",
            "architecture": decoder.config.architecture,
            "kernels": EngineBuildInfo.kernels,
            "optimized_build": EngineBuildInfo.isOptimized,
            "threads": threads,
            "prompt_tokens": prompt.count,
            "decode_tokens": decodeTokens,
            "repetitions": max(1, repetitions),
            "weight_bytes_per_token": decoder.weightBytesPerToken,
            "draft_weight_bytes_per_token": decoder.draftWeightBytesPerToken,
            "plain": ["decode_tokens_per_second": Self.round(plainBest), "main_passes": plainTokens.count - 1],
            "speculative": [
                "decode_tokens_per_second": Self.round(specBest),
                "main_passes": stats.mainSteps,
                "drafts": stats.drafted,
                "accepted": stats.accepted,
                "acceptance_rate": Self.round(stats.acceptanceRate),
                "tokens_per_main_pass": Self.round(stats.tokensPerMainStep),
                "draft_seconds_share": Self.round(stats.decodeSeconds > 0 ? stats.draftSeconds / stats.decodeSeconds : 0),
            ],
            "speedup": Self.round(plainBest > 0 ? specBest / plainBest : 0),
            "identical_tokens": plainTokens == specTokens,
        ]
        let data = try JSONSerialization.data(withJSONObject: result, options: [.prettyPrinted, .sortedKeys])
        FileHandle.standardOutput.write(data + Data("\n".utf8))
    }
}
