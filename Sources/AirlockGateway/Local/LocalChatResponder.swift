import AirlockCore
import AirlockEngine
import Foundation
import Hummingbird
import NIOCore

/// Answers a chat request with the in-process engine, in OpenAI's JSON or SSE shape, so a
/// client cannot tell a local answer from a remote one (except by `x-airlock-route`).
struct LocalChatResponder: Sendable {
    let engine: LocalEngine
    let modelName: String

    struct Outcome: Sendable {
        var text: String
        var promptTokens: Int
        var completionTokens: Int
        var finishReason: String
    }

    /// Engine options from the request's sampling fields.
    static func options(_ body: JSONObject) throws(AirlockError) -> GenerationOptions {
        var o = GenerationOptions()
        o.maxTokens = 512
        if let m = body["max_completion_tokens"]?.intValue ?? body["max_tokens"]?.intValue {
            guard m > 0 else { throw AirlockError(.invalidRequest, "'max_tokens' must be positive", param: "max_tokens") }
            o.maxTokens = m
        }
        if let t = body["temperature"]?.doubleValue { o.temperature = Float(t) } else { o.temperature = 0 }
        if let p = body["top_p"]?.doubleValue { o.topP = Float(p) }
        if let s = body["seed"]?.intValue { o.seed = UInt64(truncatingIfNeeded: s) }
        if let stop = body["stop"] {
            if let one = stop.stringValue { o.stop = [one] } else if let many = stop.arrayValue { o.stop = many.compactMap(\.stringValue) }
        }
        return o
    }

    /// Used when the request brings no system message: without one the chat template falls
    /// back to the model's own prompt, which makes small models ramble.
    static let defaultSystemPrompt = "You are a helpful assistant."

    /// Message texts for the chat template; multi-part content contributes its text parts.
    static func messages(_ body: JSONObject) -> [ChatMessage] {
        let messages: [ChatMessage] = (body["messages"]?.arrayValue ?? []).compactMap { m in
            guard let role = m["role"]?.stringValue else { return nil }
            let content: String
            if let s = m["content"]?.stringValue { content = s }
            else if let parts = m["content"]?.arrayValue { content = parts.compactMap { $0["text"]?.stringValue }.joined(separator: "\n") }
            else { content = "" }
            return ChatMessage(role: role, content: content)
        }
        if messages.contains(where: { $0.role == "system" || $0.role == "developer" }) { return messages }
        return [ChatMessage(role: "system", content: defaultSystemPrompt)] + messages
    }

    func completionID(_ requestID: String) -> String { "chatcmpl-" + requestID.replacingOccurrences(of: "req_", with: "") }

    /// Non-streamed answer.
    func complete(body: JSONObject, requestID: String) async throws -> (JSONValue, Outcome) {
        let options = try Self.options(body)
        var text = ""
        var outcome = Outcome(text: "", promptTokens: 0, completionTokens: 0, finishReason: "stop")
        do {
            for try await event in engine.generate(messages: Self.messages(body), options: options) {
                switch event {
                case .text(let piece): text += piece
                case .finished(let summary):
                    outcome = Outcome(text: text, promptTokens: summary.promptTokens, completionTokens: summary.completionTokens,
                                      finishReason: summary.finishReason.rawValue)
                }
            }
        } catch let error as EngineError { throw error.airlockError }
        outcome.text = text
        let json: JSONValue = [
            "id": .string(completionID(requestID)), "object": "chat.completion", "created": .int(Int(Date().timeIntervalSince1970)),
            "model": .string(modelName),
            "choices": [["index": 0, "message": ["role": "assistant", "content": .string(text)], "finish_reason": .string(outcome.finishReason), "logprobs": nil]],
            "usage": ["prompt_tokens": .int(outcome.promptTokens), "completion_tokens": .int(outcome.completionTokens),
                      "total_tokens": .int(outcome.promptTokens + outcome.completionTokens)],
        ]
        return (json, outcome)
    }

    /// Streamed answer as `chat.completion.chunk` events; `onChunk` sees each chunk before it
    /// is written (for restoring and output scanning) and may rewrite it.
    func stream(body: JSONObject, requestID: String, includeUsage: Bool) throws(AirlockError) -> AsyncThrowingStream<JSONValue, any Error> {
        let options = try Self.options(body)
        let messages = Self.messages(body)
        let id = completionID(requestID)
        let created = JSONValue.int(Int(Date().timeIntervalSince1970))
        let model = JSONValue.string(modelName)
        let engine = self.engine
        return AsyncThrowingStream { continuation in
            let task = Task {
                func chunk(_ delta: JSONValue, finish: JSONValue = .null) -> JSONValue {
                    ["id": .string(id), "object": "chat.completion.chunk", "created": created, "model": model,
                     "choices": [["index": 0, "delta": delta, "finish_reason": finish]]]
                }
                continuation.yield(chunk(["role": "assistant", "content": ""]))
                do {
                    for try await event in engine.generate(messages: messages, options: options) {
                        switch event {
                        case .text(let piece): continuation.yield(chunk(["content": .string(piece)]))
                        case .finished(let s):
                            continuation.yield(chunk([:], finish: .string(s.finishReason.rawValue)))
                            if includeUsage {
                                continuation.yield(["id": .string(id), "object": "chat.completion.chunk", "created": created, "model": model,
                                                    "choices": [], "usage": ["prompt_tokens": .int(s.promptTokens), "completion_tokens": .int(s.completionTokens),
                                                                             "total_tokens": .int(s.promptTokens + s.completionTokens)]])
                            }
                        }
                    }
                    continuation.finish()
                } catch let error as EngineError {
                    continuation.finish(throwing: error.airlockError)
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }
}
