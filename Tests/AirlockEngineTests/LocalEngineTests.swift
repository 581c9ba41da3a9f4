import Foundation
import Testing
@testable import AirlockEngine

@Suite("LocalEngine streaming API", .enabled(if: ModelFixture.available))
struct LocalEngineTests {
    static let system = ChatMessage(role: "system", content: "You are a helpful assistant.")

    func collect(_ stream: AsyncThrowingStream<GenerationEvent, any Error>) async throws -> (String, GenerationSummary?) {
        var text = ""
        var summary: GenerationSummary?
        for try await e in stream {
            switch e {
            case .text(let t):
                #expect(summary == nil, "no text after the final event")
                text += t
            case .finished(let s): summary = s
            }
        }
        return (text, summary)
    }

    @Test func answersTheCapitalOfFrance() async throws {
        let engine = try LocalEngine(modelPath: ModelFixture.modelPath, threads: 2)
        #expect(engine.modelName == "SmolLM2-135M-Instruct.Q4_1")
        #expect(engine.contextLength == 8192)
        #expect(engine.chatTemplate == .chatML)
        let messages = [Self.system, ChatMessage(role: "user", content: "What is the capital of France?")]
        let (text, summary) = try await collect(engine.generate(messages: messages, options: .greedy(maxTokens: 24)))
        #expect(text.contains("Paris"), "answer was: \(text)")
        let s = try #require(summary)
        #expect(s.finishReason == .stop)
        #expect(s.promptTokens == engine.promptTokens(for: messages).count)
        #expect(s.completionTokens > 3 && s.completionTokens < 24)
    }

    @Test func maxTokensAndStopSequences() async throws {
        let engine = try LocalEngine(modelPath: ModelFixture.modelPath, threads: 2)
        let messages = [Self.system, ChatMessage(role: "user", content: "What is the capital of France?")]
        let (short, s1) = try await collect(engine.generate(messages: messages, options: .greedy(maxTokens: 3)))
        #expect(s1?.finishReason == .length && s1?.completionTokens == 3)
        #expect(!short.isEmpty)
        let (cut, s2) = try await collect(engine.generate(messages: messages, options: .greedy(maxTokens: 24, stop: [" is"])))
        #expect(s2?.finishReason == .stop)
        #expect(!cut.contains(" is") && "The capital of France is Paris.".hasPrefix(cut), "got: \(cut)")
    }

    @Test func promptLongerThanTheContextIsATypedError() async throws {
        let engine = try LocalEngine(modelPath: ModelFixture.modelPath, threads: 2)
        let secret = "confidential-\(UUID().uuidString)"
        let long = String(repeating: "\(secret) ", count: 1200)
        do {
            _ = try await collect(engine.generate(messages: [ChatMessage(role: "user", content: long)], options: .greedy(maxTokens: 4)))
            Issue.record("expected contextLengthExceeded")
        } catch let e as EngineError {
            #expect(e.code == .contextLengthExceeded)
            #expect(!e.description.contains(secret))
            #expect(e.airlockError.code == .contextLengthExceeded && e.airlockError.httpStatus == 400)
        }
        await #expect(throws: EngineError.self) {
            _ = try await collect(engine.generate(promptTokens: [1, 2], options: GenerationOptions(maxTokens: 0)))
        }
    }

    @Test func cancellingTheConsumerStopsGeneration() async throws {
        let engine = try LocalEngine(modelPath: ModelFixture.modelPath, threads: 2)
        let prompt = engine.tokenizer.encode("Once upon a time, in a land far away,")
        let received = Task {
            var n = 0
            for try await e in engine.generate(promptTokens: prompt, options: GenerationOptions(maxTokens: 4000, seed: 1)) {
                if case .text = e { n += 1 }
            }
            return n
        }
        // Let it start, then cancel the consuming task.
        while engine.scheduler.activeCount == 0 { try await Task.sleep(for: .milliseconds(5)) }
        try await Task.sleep(for: .milliseconds(50))
        received.cancel()
        let n = try await received.value
        #expect(n < 4000)
        let deadline = ContinuousClock.now + .seconds(EngineBuildInfo.isOptimized ? 5 : 60)
        while engine.scheduler.activeCount > 0 && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(5))
        }
        #expect(engine.scheduler.activeCount == 0, "the sequence must be dropped after cancellation")
        let (_, s) = try await collect(engine.generate(promptTokens: prompt, options: .greedy(maxTokens: 2)))
        #expect(s?.completionTokens == 2)
    }

    @Test func concurrentStreamsAreBatchedAndMatchSequentialOutput() async throws {
        let engine = try LocalEngine(modelPath: ModelFixture.modelPath, threads: 2, maxConcurrentStreams: 4)
        var questions = ["What is the capital of France?", "Name a primary color.", "What is 2+2?", "Say hello in Korean."]
        if !EngineBuildInfo.isOptimized { questions = Array(questions.prefix(2)) }
        let n = EngineBuildInfo.isOptimized ? 12 : 2
        var sequential: [String] = []
        for q in questions {
            sequential.append(try await collect(engine.generate(messages: [Self.system, ChatMessage(role: "user", content: q)],
                                                                options: .greedy(maxTokens: n))).0)
        }
        let concurrent = try await withThrowingTaskGroup(of: (Int, String).self) { group in
            for (i, q) in questions.enumerated() {
                group.addTask {
                    (i, try await collect(engine.generate(messages: [Self.system, ChatMessage(role: "user", content: q)],
                                                          options: .greedy(maxTokens: n))).0)
                }
            }
            var out = [String](repeating: "", count: questions.count)
            for try await (i, t) in group { out[i] = t }
            return out
        }
        #expect(concurrent == sequential)
        #expect(engine.scheduler.peakBatchStreams > 1, "streams should have shared forward passes")
    }
}
