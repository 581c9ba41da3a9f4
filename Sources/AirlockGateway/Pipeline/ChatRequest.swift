import AirlockCore

/// A parsed, validated chat-completions request. The JSON stays as the client sent it, so
/// fields Airlock does not know (`tools`, `response_format`, `logprobs`, vendor extensions)
/// reach the provider untouched.
struct ChatRequest: Sendable {
    var body: JSONObject
    var model: String
    var stream: Bool
    var includeUsage: Bool

    static func parse(_ bytes: [UInt8]) throws(AirlockError) -> ChatRequest {
        let root = try JSONBody.parseObject(bytes)
        guard let modelValue = root["model"] else { throw AirlockError(.invalidRequest, "Missing required parameter: 'model'", param: "model") }
        guard let model = modelValue.stringValue, !model.isEmpty else {
            throw AirlockError(.invalidRequest, "'model' must be a non-empty string", param: "model")
        }
        try validateModelName(model)
        guard let messagesValue = root["messages"] else { throw AirlockError(.invalidRequest, "Missing required parameter: 'messages'", param: "messages") }
        guard let messages = messagesValue.arrayValue, !messages.isEmpty else {
            throw AirlockError(.invalidRequest, "'messages' must be a non-empty array", param: "messages")
        }
        for (i, message) in messages.enumerated() {
            guard let object = message.objectValue else { throw AirlockError(.invalidRequest, "messages[\(i)] must be an object", param: "messages[\(i)]") }
            guard object["role"]?.stringValue != nil else {
                throw AirlockError(.invalidRequest, "messages[\(i)].role must be a string", param: "messages[\(i)].role")
            }
        }
        var stream = false
        if let s = root["stream"], !s.isNull {
            guard let b = s.boolValue else { throw AirlockError(.invalidRequest, "'stream' must be a boolean", param: "stream") }
            stream = b
        }
        let includeUsage = root["stream_options"]?["include_usage"]?.boolValue ?? false
        return ChatRequest(body: root, model: model, stream: stream, includeUsage: includeUsage)
    }

    var serialized: [UInt8] { JSONValue.object(body).serializedBytes }
}

/// Model names end up in error messages, headers of the route, logs and audit rows: control
/// characters (CR/LF, NUL, escape sequences) and unbounded lengths are refused up front.
func validateModelName(_ model: String) throws(AirlockError) {
    guard model.utf8.count <= 256, !model.unicodeScalars.contains(where: { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) }) else {
        throw AirlockError(.invalidRequest, "'model' must be at most 256 bytes without control characters", param: "model")
    }
}

enum JSONBody {
    static func parseObject(_ bytes: [UInt8]) throws(AirlockError) -> JSONObject {
        let value: JSONValue
        do { value = try JSONValue(parsing: bytes) } catch {
            throw AirlockError(.invalidJSON, "Request body is not valid JSON: \(error.description)")
        }
        guard let object = value.objectValue else { throw AirlockError(.invalidJSON, "Request body must be a JSON object") }
        return object
    }
}
