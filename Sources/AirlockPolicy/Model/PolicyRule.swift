/// One rule: when its condition holds it fires, and each of its effects combines with the
/// others most-restrictively (see `Policy`).
public struct PolicyRule: Sendable, Hashable, Codable, Identifiable {
    /// Unique within the policy; reported in decisions, headers and 451/403 errors.
    public var id: String
    public var description: String?
    public var when: RuleCondition
    /// Per-finding action for the findings the rule matched.
    public var action: PolicyAction?
    /// Permitted remote regions when the rule fires; intersected with the others.
    public var destinations: [String]?
    /// Remote regions removed when the rule fires (`cn`); united with the others.
    public var excludeDestinations: [String]?
    public var local: LocalUse?
    /// `false` turns payload capture off for requests this rule fires on.
    public var capturePayloads: Bool?

    public init(id: String, description: String? = nil, when: RuleCondition = .always, action: PolicyAction? = nil,
                destinations: [String]? = nil, excludeDestinations: [String]? = nil, local: LocalUse? = nil, capturePayloads: Bool? = nil) {
        self.id = id
        self.description = description
        self.when = when
        self.action = action
        self.destinations = destinations
        self.excludeDestinations = excludeDestinations
        self.local = local
        self.capturePayloads = capturePayloads
    }

    enum CodingKeys: String, CodingKey {
        case id, description, when, action, destinations, excludeDestinations = "exclude_destinations", local, capturePayloads = "capture_payloads"
    }
}
