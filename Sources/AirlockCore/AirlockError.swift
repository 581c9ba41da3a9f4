/// Every error Airlock reports to a client. The code is closed so it maps to one HTTP status
/// and one OpenAI error type in one place; the message never contains user data.
public struct AirlockError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable, CaseIterable {
        case invalidRequest = "invalid_request"
        case invalidJSON = "invalid_json"
        case bodyTooLarge = "body_too_large"
        /// The client did not send its whole request body in time (slow-body attacks).
        case requestTimeout = "request_timeout"
        case invalidAPIKey = "invalid_api_key"
        case modelNotFound = "model_not_found"
        case piiBlocked = "pii_blocked"
        case residencyViolation = "residency_violation"
        case rateLimited = "rate_limit_exceeded"
        case upstreamError = "upstream_error"
        case upstreamTimeout = "upstream_timeout"
        case notReady = "not_ready"
        case auditUnavailable = "audit_unavailable"
        /// The listener holds `limits.max_connections` connections already.
        case serverOverloaded = "server_overloaded"
        case contextLengthExceeded = "context_length_exceeded"
        case internalError = "internal_error"
    }

    public let code: Code
    public let message: String
    /// The request field the error refers to, when there is one (OpenAI's `param`).
    public let param: String?

    public init(_ code: Code, _ message: String, param: String? = nil) {
        self.code = code
        self.message = message
        self.param = param
    }

    public var description: String { "\(code.rawValue): \(message)" }

    /// HTTP status for the wire contract in DESIGN.md.
    public var httpStatus: Int {
        switch code {
        case .invalidRequest, .invalidJSON, .contextLengthExceeded: return 400
        case .invalidAPIKey: return 401
        case .piiBlocked: return 403
        case .modelNotFound: return 404
        case .requestTimeout: return 408
        case .bodyTooLarge: return 413
        case .rateLimited: return 429
        case .residencyViolation: return 451
        case .internalError: return 500
        case .upstreamError: return 502
        case .notReady, .auditUnavailable, .serverOverloaded: return 503
        case .upstreamTimeout: return 504
        }
    }

    /// OpenAI's error `type` field.
    public var openAIType: String {
        switch code {
        case .invalidRequest, .invalidJSON, .bodyTooLarge, .requestTimeout, .modelNotFound, .contextLengthExceeded: return "invalid_request_error"
        case .invalidAPIKey: return "authentication_error"
        case .piiBlocked, .residencyViolation: return "policy_violation"
        case .rateLimited: return "rate_limit_error"
        case .upstreamError, .upstreamTimeout: return "upstream_error"
        case .notReady, .auditUnavailable, .serverOverloaded, .internalError: return "server_error"
        }
    }

    /// The OpenAI-style error body: `{"error":{"message","type","param","code"}}`.
    public var openAIBody: JSONValue {
        .object(["error": .object([
            "message": .string(message),
            "type": .string(openAIType),
            "param": param.map(JSONValue.string) ?? .null,
            "code": .string(code.rawValue),
        ])])
    }
}
