/// A tenant's data-governance policy (schema `airlock/v1`, documented in Policies/README.md).
///
/// Semantics, in one place:
/// - Findings below `defaults.minScore` are ignored.
/// - A rule fires when its request conditions hold and, if it names `entities`, at least one
///   finding matches. Its action applies to the findings it matched (all findings for a rule
///   without `entities`); a finding's action is the most restrictive of the actions of the
///   rules that matched it, or `defaults.action` when none did.
/// - Any `block` (per finding, or a request-level rule) blocks the request (403).
/// - Permitted remote regions are `defaults.destinations` intersected with every fired rule's
///   `destinations`; `local` combines as described on `LocalUse`.
/// - Payload capture is off if any fired rule turns it off.
public struct Policy: Sendable, Hashable, Codable {
    public static let apiVersion = "airlock/v1"

    /// Slug (`kr-pipa`); also the name versions are stored under.
    public var name: String
    public var description: String?
    public var mode: PolicyMode
    public var defaults: PolicyDefaults
    /// Evaluated in order; order only affects the order of fired rule ids in a decision.
    public var rules: [PolicyRule]
    public var retention: Retention
    public var limits: RateLimits

    public init(name: String, description: String? = nil, mode: PolicyMode = .enforce, defaults: PolicyDefaults = .init(),
                rules: [PolicyRule] = [], retention: Retention = .default, limits: RateLimits = .unlimited) {
        self.name = name
        self.description = description
        self.mode = mode
        self.defaults = defaults
        self.rules = rules
        self.retention = retention
        self.limits = limits
    }

    /// Everything allowed everywhere: what is enforced when a tenant has no policy yet.
    public static let passthrough = Policy(name: "passthrough", description: "No restrictions.")
}
