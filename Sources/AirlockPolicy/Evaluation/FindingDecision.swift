/// The action for one finding and why.
public struct FindingDecision: Sendable, Hashable {
    public var action: PolicyAction
    /// The rule whose action won; nil when `defaults.action` applied or the finding was ignored.
    public var ruleID: String?
    /// Scored below `defaults.min_score`: left as is and seen by no rule.
    public var ignored: Bool

    public init(action: PolicyAction, ruleID: String? = nil, ignored: Bool = false) {
        self.action = action
        self.ruleID = ruleID
        self.ignored = ignored
    }
}
