import AirlockCore

/// What to enforce and what to record for one request, given the active policy version and
/// the last enforced one (for shadow mode).
public struct PolicyEvaluation: Sendable, Hashable {
    /// Apply this one.
    public var enforced: Decision
    /// The shadow policy's decision, to record alongside (`x-airlock-decision` stays the enforced one).
    public var shadow: Decision?

    public init(enforced: Decision, shadow: Decision? = nil) {
        self.enforced = enforced
        self.shadow = shadow
    }

    /// An enforce-mode `active` policy is simply applied. A shadow-mode one is evaluated and
    /// returned as `shadow`, while `previous` (the last enforced version; pass-through when
    /// nil) decides what actually happens.
    public static func evaluate(active: PolicyEvaluator, previous: PolicyEvaluator?, findings: [Finding],
                                request: RequestContext) -> PolicyEvaluation {
        let decision = active.evaluate(findings: findings, request: request)
        guard decision.mode == .shadow else { return PolicyEvaluation(enforced: decision) }
        var enforced = (previous ?? PolicyEvaluator(.passthrough)).evaluate(findings: findings, request: request)
        enforced.mode = .enforce  // a shadow policy's predecessor is, by definition, what is enforced
        return PolicyEvaluation(enforced: enforced, shadow: decision)
    }
}
