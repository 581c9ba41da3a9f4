/// A rule's `when:`. Every condition that is present must hold (AND); within one list any
/// item may match (OR). An absent condition always holds.
public struct RuleCondition: Sendable, Hashable, Codable {
    /// Findings of these types (or groups) make the rule fire; its action applies to them.
    /// Without it the rule is request-level: it fires on the other conditions alone and its
    /// action applies to every finding.
    public var entities: [EntitySelector]?
    /// Only findings scored at least this count (on top of `defaults.min_score`).
    public var minScore: Double?
    /// Declared data classifications (lower case), e.g. `confidential`.
    public var classification: [String]?
    /// Requested model names; `*` is a wildcard (`gpt-4*`).
    public var models: [String]?
    /// Tenant ids.
    public var tenants: [String]?
    /// Region patterns of the caller (`eu-*`), when the gateway knows it.
    public var callerRegions: [String]?

    public init(entities: [EntitySelector]? = nil, minScore: Double? = nil, classification: [String]? = nil,
                models: [String]? = nil, tenants: [String]? = nil, callerRegions: [String]? = nil) {
        self.entities = entities
        self.minScore = minScore
        self.classification = classification
        self.models = models
        self.tenants = tenants
        self.callerRegions = callerRegions
    }

    public static let always = RuleCondition()

    enum CodingKeys: String, CodingKey {
        case entities, minScore = "min_score", classification, models, tenants, callerRegions = "caller_regions"
    }
}
