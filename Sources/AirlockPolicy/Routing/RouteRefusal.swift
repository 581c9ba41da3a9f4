import AirlockCore

/// Why no candidate exists. Messages name rules and models, never request data.
public struct RouteRefusal: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Reason: String, Sendable, Hashable {
        /// The decision blocks the request (403 `pii_blocked`).
        case blocked
        /// Providers exist for the model but none in a permitted region, or local is required
        /// and there is no engine (451 `residency_violation`).
        case residency
        /// Nothing serves the requested model (404).
        case modelNotFound = "model_not_found"
        /// Permitted providers exist but every one is unavailable, and so are the others (502).
        case noHealthyProvider = "no_healthy_provider"
    }

    public var reason: Reason
    /// The rules responsible (`defaults` when the policy's defaults are).
    public var ruleIDs: [String]
    public var message: String

    public init(reason: Reason, ruleIDs: [String] = [], message: String) {
        self.reason = reason
        self.ruleIDs = ruleIDs
        self.message = message
    }

    public var description: String { "\(reason.rawValue): \(message)" }

    /// The client-facing error for the wire contract.
    public var airlockError: AirlockError {
        switch reason {
        case .blocked: AirlockError(.piiBlocked, message)
        case .residency: AirlockError(.residencyViolation, message)
        case .modelNotFound: AirlockError(.modelNotFound, message, param: "model")
        case .noHealthyProvider: AirlockError(.upstreamError, message)
        }
    }
}
