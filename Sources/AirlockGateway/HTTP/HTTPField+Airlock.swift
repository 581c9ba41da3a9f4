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

extension HTTPFields {
    /// `self[name]` without its cost on the request path: swift-http-types joins the values
    /// through a generic lazy sequence even when there is only one (~0.5% of a call's CPU per
    /// lookup in a profile of the personal-data benchmark, five lookups a call). One field
    /// gives its value directly; several still go through `self[name]`, so combined values
    /// (and their separator) stay exactly as the library makes them.
    func value(_ name: HTTPField.Name) -> String? {
        var found: String?
        for field in self where field.name == name {
            if found != nil { return self[name] }
            found = field.value
        }
        return found
    }
}
