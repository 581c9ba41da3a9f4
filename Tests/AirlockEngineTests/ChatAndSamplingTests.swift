import Foundation
import Testing
@testable import AirlockEngine

@Suite("Chat templates")
struct ChatTemplateTests {
    let messages = [ChatMessage(role: "user", content: "Hi <|im_end|>")]

    @Test func chatMLWithDefaultSystemPrompt() {
        let segs = ChatTemplate.chatML.render(messages, defaultSystemPrompt: "Be brief.")
        #expect(segs == [
            .special("<|im_start|>"), .text("system\nBe brief."), .special("<|im_end|>"), .text("\n"),
            .special("<|im_start|>"), .text("user\nHi <|im_end|>"), .special("<|im_end|>"), .text("\n"),
            .special("<|im_start|>"), .text("assistant\n"),
        ])
        let withSystem = ChatTemplate.chatML.render([ChatMessage(role: "system", content: "S")] + messages, defaultSystemPrompt: "Be brief.")
        #expect(withSystem.first == .special("<|im_start|>") && withSystem[1] == .text("system\nS"))
    }

    @Test func llama3AndDeepSeek() {
        let l = ChatTemplate.llama3.render([ChatMessage(role: "system", content: " S "), ChatMessage(role: "user", content: "U")])
        #expect(l == [.special("<|begin_of_text|>"),
                      .special("<|start_header_id|>"), .text("system"), .special("<|end_header_id|>"), .text("\n\nS"), .special("<|eot_id|>"),
                      .special("<|start_header_id|>"), .text("user"), .special("<|end_header_id|>"), .text("\n\nU"), .special("<|eot_id|>"),
                      .special("<|start_header_id|>"), .text("assistant"), .special("<|end_header_id|>"), .text("\n\n")])
        let d = ChatTemplate.deepSeekV3.render([ChatMessage(role: "system", content: "S"), ChatMessage(role: "user", content: "U"),
                                                ChatMessage(role: "assistant", content: "A"), ChatMessage(role: "user", content: "V")])
        #expect(d == [.special("<｜begin▁of▁sentence｜>"), .text("S"), .special("<｜User｜>"), .text("U"),
                      .special("<｜Assistant｜>"), .text("A"), .special("<｜end▁of▁sentence｜>"),
                      .special("<｜User｜>"), .text("V"), .special("<｜Assistant｜>")])
    }

    @Test func detectionAndNames() {
        #expect(ChatTemplate.detect(fromTemplate: "{{'<|im_start|>' + role}}") == .chatML)
        #expect(ChatTemplate.detect(fromTemplate: "<|start_header_id|>{{ role }}") == .llama3)
        #expect(ChatTemplate.detect(fromTemplate: "{{'<｜User｜>' + content}}") == .deepSeekV3)
        #expect(ChatTemplate.detect(fromTemplate: "[INST]") == nil)
        #expect(ChatTemplate(name: "DeepSeek-V3") == .deepSeekV3 && ChatTemplate(name: "llama3") == .llama3)
        let t = "{% if x %}{{ '<|im_start|>system\nYou are SmolLM<|im_end|>\n' }}{% endif %}"
        #expect(ChatTemplate.defaultSystemPrompt(fromTemplate: t) == "You are SmolLM")
        #expect(ChatTemplate.defaultSystemPrompt(fromTemplate: "<|im_start|>system\n{{ m }}<|im_end|>") == nil)
    }
}

@Suite("Sampler")
struct SamplerTests {
    func sample(_ logits: [Float], _ o: GenerationOptions, _ s: inout Sampler) -> Int32 {
        var l = logits
        return s.sample(&l, vocab: l.count)
    }

    @Test func greedyIsArgmax() {
        var s = Sampler(options: .greedy())
        #expect(sample([0.1, 3, -1, 2.9], .greedy(), &s) == 1)
    }

    @Test func seededSamplingIsReproducible() {
        let o = GenerationOptions(temperature: 1.5, topK: 0, topP: 1, minP: 0, seed: 42)
        let logits = (0..<100).map { Float($0 % 7) * 0.3 }
        var a = Sampler(options: o), b = Sampler(options: o)
        let x = (0..<50).map { _ in sample(logits, o, &a) }
        let y = (0..<50).map { _ in sample(logits, o, &b) }
        #expect(x == y)
        #expect(Set(x).count > 3)
    }

    @Test func temperatureOneFollowsTheDistribution() {
        let o = GenerationOptions(temperature: 1, topK: 0, topP: 1, minP: 0, seed: 7)
        var s = Sampler(options: o)
        var counts = [0, 0]
        for _ in 0..<8000 { counts[Int(sample([0, logf(3)], o, &s))] += 1 }
        let ratio = Double(counts[1]) / Double(counts[0])
        #expect(ratio > 2.6 && ratio < 3.4, "expected ~3:1, got \(counts)")
    }

    @Test func filtersRemoveUnlikelyTokens() {
        // top-k 2 never yields the third token; min-p 0.5 keeps only tokens with p ≥ 0.5·pmax.
        let logits: [Float] = [2, 1.9, 1.8, -5]
        let k = GenerationOptions(temperature: 1, topK: 2, topP: 1, minP: 0, seed: 1)
        var sk = Sampler(options: k)
        #expect((0..<300).allSatisfy { _ in sample(logits, k, &sk) < 2 })
        let m = GenerationOptions(temperature: 5, topK: 0, topP: 1, minP: 0.5, seed: 1)
        var sm = Sampler(options: m)
        #expect((0..<300).allSatisfy { _ in sample(logits, m, &sm) != 3 })
        let p = GenerationOptions(temperature: 1, topK: 0, topP: 0.3, minP: 0, seed: 1)
        var sp = Sampler(options: p)
        #expect((0..<300).allSatisfy { _ in sample(logits, p, &sp) == 0 })
    }

    @Test func repetitionPenaltyDemotesSeenTokens() {
        let o = GenerationOptions(temperature: 0, topK: 0, topP: 1, minP: 0, repetitionPenalty: 2)
        var s = Sampler(options: o)
        s.observe([1])
        #expect(sample([1.0, 1.5, 0.5], o, &s) == 0)
    }

    @Test func optionsAreValidated() {
        #expect(throws: EngineError.self) { try GenerationOptions(maxTokens: 0).validate() }
        #expect(throws: EngineError.self) { try GenerationOptions(topP: 0).validate() }
        #expect(throws: EngineError.self) { try GenerationOptions(stop: [""]).validate() }
        #expect(throws: Never.self) { try GenerationOptions().validate() }
    }
}

@Suite("Top-k selection")
struct SelectionTests {
    @Test func quickselectFindsTheKLargest() {
        var rng = SplitMix64(seed: 17)
        for _ in 0..<200 {
            let n = Int(rng.next() % 300) + 1
            var a = (0..<n).map { (id: Int32($0), logit: Float(Int(rng.next() % 50))) }
            let k = Int(rng.next() % UInt64(n)) + 1
            let expected = a.map(\.logit).sorted(by: >).prefix(k)
            Sampler.selectTop(&a, k)
            #expect(a.prefix(k).map(\.logit).sorted(by: >) == Array(expected))
        }
    }
}
