import HTTPTypes

/// The header names the request path sets on every call, made once: building a name from a
/// string checks and lower-cases it each time (names past 15 bytes also allocate).
extension HTTPField.Name {
    static let requestID = HTTPField.Name("x-request-id")!
    static let airlockDecision = HTTPField.Name("x-airlock-decision")!
    static let airlockPolicyVersion = HTTPField.Name("x-airlock-policy-version")!
    static let airlockShadowDecision = HTTPField.Name("x-airlock-shadow-decision")!
    static let airlockRoute = HTTPField.Name("x-airlock-route")!
    static let airlockClassification = HTTPField.Name("x-airlock-classification")!
}
