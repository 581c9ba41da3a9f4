import AirlockCore

/// The outcome of evaluating a policy for one request. A pure value: the gateway applies it
/// (transform, block, route), the audit records it, `policy explain` prints it.
public struct Decision: Sendable, Hashable {
    public var policyName: String
    /// The stored version the decision came from, when the caller gave one.
    public var policyVersion: Int?
    public var mode: PolicyMode
    /// Index-aligned with the findings passed to `evaluate`.
    public var findings: [FindingDecision]
    /// Rules (or `defaults`) that block the request; non-empty means 403 `pii_blocked`.
    public var blockedBy: [String]
    /// Remote regions a provider may be in.
    public var destinations: RegionSet
    /// Remote regions excluded whatever `destinations` says (`cn`).
    public var excludedDestinations: RegionSet
    /// The effective use of the local engine after all fired rules.
    public var local: LocalUse
    /// Fired rules that narrowed destinations or required/forbade local: named in a 451.
    public var residencyRuleIDs: [String]
    public var retention: Retention
    /// Every fired rule, in policy order.
    public var firedRuleIDs: [String]

    public init(policyName: String, policyVersion: Int? = nil, mode: PolicyMode = .enforce, findings: [FindingDecision] = [],
                blockedBy: [String] = [], destinations: RegionSet = .all, excludedDestinations: RegionSet = .none, local: LocalUse = .allowed,
                residencyRuleIDs: [String] = [], retention: Retention = .default, firedRuleIDs: [String] = []) {
        self.policyName = policyName
        self.policyVersion = policyVersion
        self.mode = mode
        self.findings = findings
        self.blockedBy = blockedBy
        self.destinations = destinations
        self.excludedDestinations = excludedDestinations
        self.local = local
        self.residencyRuleIDs = residencyRuleIDs
        self.retention = retention
        self.firedRuleIDs = firedRuleIDs
    }

    public var isBlocked: Bool { !blockedBy.isEmpty }

    /// The engine may answer (`required` together with `forbidden` evaluates to `forbidden`).
    public var permitsLocal: Bool { local != .forbidden }

    /// Whether a destination in `region` is permitted (`local` means the engine).
    public func permits(_ region: Region) -> Bool {
        region == .local ? permitsLocal : destinations.contains(region) && !excludedDestinations.contains(region)
    }

    /// `kr`, `* except cn`, `(none)`.
    public var destinationSummary: String {
        excludedDestinations.isEmpty || destinations.isEmpty ? destinations.description : "\(destinations) except \(excludedDestinations)"
    }

    /// The most restrictive action applied to any finding (`allow` with no findings).
    public var strongestAction: PolicyAction { findings.lazy.map(\.action).max() ?? .allow }

    /// Whether any finding must be rewritten before the request leaves the host.
    public var transformsContent: Bool { findings.contains { $0.action != .allow && $0.action != .block } }

    /// `x-airlock-decision`: `block`, the strongest action, or `allow`; `shadow:` prefixed in shadow mode.
    public var headerValue: String {
        let value = isBlocked ? PolicyAction.block.rawValue : strongestAction.rawValue
        return mode == .shadow ? "shadow:" + value : value
    }
}
