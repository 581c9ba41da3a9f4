import AirlockCore

/// Every error the engine throws. The code is closed; the message names the problem
/// (a field, a tensor name, a limit) but never contains prompt or completion text.
public struct EngineError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable, CaseIterable {
        /// The model file is truncated, corrupt, hostile or not GGUF v3.
        case invalidModelFile = "invalid_model_file"
        /// A well-formed file that needs something this engine does not implement.
        case unsupportedModel = "unsupported_model"
        /// Prompt (plus what must be generated) does not fit the context window.
        case contextLengthExceeded = "context_length_exceeded"
        /// Options or messages the engine cannot act on (e.g. negative max tokens).
        case invalidRequest = "invalid_request"
        /// The engine was shut down while the request was queued or running.
        case engineStopped = "engine_stopped"
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }

    /// The gateway-facing error with the HTTP/OpenAI mapping from AirlockCore.
    public var airlockError: AirlockError {
        switch code {
        case .contextLengthExceeded: return AirlockError(.contextLengthExceeded, message, param: "messages")
        case .invalidRequest: return AirlockError(.invalidRequest, message)
        case .engineStopped: return AirlockError(.notReady, message)
        case .invalidModelFile, .unsupportedModel: return AirlockError(.internalError, message)
        }
    }

    static func invalidFile(_ message: String) -> EngineError { EngineError(.invalidModelFile, message) }
    static func unsupported(_ message: String) -> EngineError { EngineError(.unsupportedModel, message) }
}
