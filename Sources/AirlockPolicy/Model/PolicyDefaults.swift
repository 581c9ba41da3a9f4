/// What applies before any rule: the baseline every fired rule narrows.
public struct PolicyDefaults: Sendable, Hashable, Codable {
    /// Action for a finding that no rule with an `action` matched.
    public var action: PolicyAction
    /// Remote regions permitted when no rule narrows them.
    public var destinations: [String]
    /// Remote regions never permitted (`cn`), whatever `destinations` says.
    public var excludeDestinations: [String]
    public var local: LocalUse
    /// Findings scored below this are ignored entirely (no rule sees them).
    public var minScore: Double
    /// Classification assumed when the request declares none (`x-airlock-classification`).
    public var classification: String?

    public init(action: PolicyAction = .allow, destinations: [String] = ["*"], excludeDestinations: [String] = [], local: LocalUse = .allowed,
                minScore: Double = 0, classification: String? = nil) {
        self.action = action
        self.destinations = destinations
        self.excludeDestinations = excludeDestinations
        self.local = local
        self.minScore = minScore
        self.classification = classification
    }

    enum CodingKeys: String, CodingKey {
        case action, destinations, excludeDestinations = "exclude_destinations", local, minScore = "min_score", classification
    }
}
