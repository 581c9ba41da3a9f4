import AirlockCore
import Foundation

/// Orders the providers a decision permits. Pure: the same decision, catalogue, health and
/// seed always give the same plan, and a candidate outside the permitted regions is never
/// produced, so failover can only move along the list.
public struct RoutePlanner: Sendable {
    public let providers: [ProviderConfig]

    public init(providers: [ProviderConfig]) { self.providers = providers.filter(\.enabled) }
    public init(catalog: ProviderCatalog) { self.init(providers: catalog.providers) }

    /// - Parameters:
    ///   - model: the requested model name or alias.
    ///   - health: by provider name; absent means healthy.
    ///   - seed: spreads traffic among equal-priority providers by weight (e.g. a hash of the
    ///     request id); nil orders them by weight, then name.
    public func plan(decision: Decision, model: String, health: [String: ProviderHealth] = [:], seed: UInt64? = nil) -> RoutePlan {
        if decision.isBlocked {
            return .refused(RouteRefusal(reason: .blocked, ruleIDs: decision.blockedBy,
                                         message: "request blocked by policy \(RoutePlanner.ruleList(decision.blockedBy))"))
        }
        let remote = providers.filter { !$0.isLocal && $0.model(serving: model) != nil }
        let engine = providers.first(where: \.isLocal)
        let engineServes = engine?.model(serving: model) != nil
        // Only a policy that sends everything local may answer an unknown name with the engine's model.
        if remote.isEmpty && !engineServes && decision.local != .required && decision.local != .preferred {
            return .refused(RouteRefusal(reason: .modelNotFound, message: "no provider serves model '\(model)'"))
        }

        let permitted = remote.filter { decision.permits($0.region) }
        let usable = permitted
            .filter { (health[$0.name] ?? .healthy) != .unavailable }
            .map { p in (p, health[p.name] ?? .healthy, RoutePlanner.weightKey(p, seed)) }
            .sorted { a, b in
                if a.1 != b.1 { return a.1 == .healthy }
                if a.0.priority != b.0.priority { return a.0.priority < b.0.priority }
                if a.2 != b.2 { return a.2 > b.2 }
                return a.0.name < b.0.name
            }
            .map { p, h, _ in
                let m = p.model(serving: model)!
                return RouteCandidate(provider: p.name, kind: p.kind, region: p.region, model: m.name, deployment: m.deployment, health: h)
            }

        var local: RouteCandidate?
        if decision.permitsLocal, let engine, (health[engine.name] ?? .healthy) != .unavailable,
           let m = engine.model(serving: model) ?? engine.models.first {
            local = RouteCandidate(provider: engine.name, kind: .local, region: .local, model: m.name,
                                   health: health[engine.name] ?? .healthy)
        }

        let ordered: [RouteCandidate]
        switch decision.local {
        case .required: ordered = local.map { [$0] } ?? []
        case .preferred: ordered = (local.map { [$0] } ?? []) + usable
        case .allowed: ordered = usable + (local.map { [$0] } ?? [])
        case .forbidden: ordered = usable
        }
        if !ordered.isEmpty { return .route(ordered) }

        // Nothing to try: is it the policy's doing, or is everything down?
        let othersUp = remote.contains { !decision.permits($0.region) && (health[$0.name] ?? .healthy) != .unavailable }
        if !permitted.isEmpty && !othersUp {
            return .refused(RouteRefusal(reason: .noHealthyProvider,
                                         message: "every provider permitted for model '\(model)' is unavailable"))
        }
        let rules = decision.residencyRuleIDs.isEmpty ? ["defaults"] : decision.residencyRuleIDs
        let regions = decision.destinations.isEmpty ? "no remote region" : "only \(decision.destinationSummary)"
        let localText = decision.permitsLocal ? "no local engine is available" : "the local engine is not permitted"
        return .refused(RouteRefusal(reason: .residency, ruleIDs: rules,
                                     message: "no permitted destination for model '\(model)': policy \(RoutePlanner.ruleList(rules)) permits \(regions) and \(localText)"))
    }

    static func ruleList(_ ids: [String]) -> String {
        (ids.count == 1 ? "rule " : "rules ") + ids.map { "'\($0)'" }.joined(separator: ", ")
    }

    /// Efraimidis–Spirakis key (as ln(u)/w ~ u^(1/w)): sorting by it descending is a weighted random order.
    /// Without a seed, the weight itself (heaviest first).
    private static func weightKey(_ p: ProviderConfig, _ seed: UInt64?) -> Double {
        guard let seed else { return Double(p.weight) }
        var h: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a of the name: stable across runs, unlike Hasher
        for b in p.name.utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        var z = seed ^ h &+ 0x9E37_79B9_7F4A_7C15  // SplitMix64 finaliser
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        let u = (Double(z >> 11) + 0.5) / 9_007_199_254_740_992  // (0, 1)
        return log(u) / Double(max(p.weight, 1))  // monotone in u^(1/w), cheaper
    }
}
