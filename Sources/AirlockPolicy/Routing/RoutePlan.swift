/// The outcome of route planning: candidates to try in order, or why there are none.
public enum RoutePlan: Sendable, Hashable {
    /// Non-empty, in failover order; every one is permitted by the decision.
    case route([RouteCandidate])
    case refused(RouteRefusal)

    public var candidates: [RouteCandidate] {
        if case .route(let c) = self { return c }
        return []
    }

    public var refusal: RouteRefusal? {
        if case .refused(let r) = self { return r }
        return nil
    }
}
