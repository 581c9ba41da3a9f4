import AirlockCore

/// A policy compiled for evaluation: entity lists become bit masks, destination lists become
/// `RegionSet`s, model lists become patterns. Build one per policy version and reuse it;
/// `evaluate` is a pure function of its inputs.
public struct PolicyEvaluator: Sendable {
    public let policy: Policy
    public let version: Int?
    private let rules: [CompiledRule]
    private let baseDestinations: RegionSet
    private let baseExclusions: RegionSet
    /// Permitted and excluded regions for every subset of the rules that have `destinations`
    /// or `exclude_destinations` (bit i = the i-th such rule fired), precomputed when there
    /// are at most 10 of them so evaluation never builds sets.
    private let destinationTable: [Regions]

    private struct Regions: Sendable {
        var permitted: RegionSet
        var excluded: RegionSet

        func narrowed(by rule: CompiledRule) -> Regions {
            Regions(permitted: rule.destinations.map { permitted.intersection($0) } ?? permitted,
                    excluded: rule.exclusions.map { excluded.union($0) } ?? excluded)
        }
    }

    /// A class so iterating rules retains one reference instead of copying every field.
    private final class CompiledRule: Sendable {
        let id: String
        /// Every bit set when the rule has no `entities` (its action reaches all findings).
        let entityBits: UInt64
        let hasEntities: Bool
        let minScore: Double
        let classification: [String]?
        let models: [ModelPattern]?
        let tenants: [String]?
        let callerRegions: RegionSet?
        let action: PolicyAction?
        let destinations: RegionSet?
        let exclusions: RegionSet?
        let local: LocalUse?
        let capturePayloads: Bool?
        /// Position among the rules with `destinations` or `exclude_destinations` (-1 for none).
        let destinationSlot: Int

        init(_ rule: PolicyRule, slot: Int) {
            let entities = rule.when.entities
            id = rule.id
            entityBits = entities.map { EntitySet($0.flatMap(\.members)).bits } ?? EntitySet.all.bits
            hasEntities = entities != nil
            minScore = rule.when.minScore ?? 0
            classification = rule.when.classification?.map { $0.lowercased() }
            models = rule.when.models?.map(ModelPattern.init)
            tenants = rule.when.tenants
            callerRegions = rule.when.callerRegions.map { RegionSet($0) }
            action = rule.action
            destinations = rule.destinations.map { RegionSet($0) }
            exclusions = rule.excludeDestinations.map { RegionSet($0) }
            local = rule.local
            capturePayloads = rule.capturePayloads
            destinationSlot = slot
        }
    }

    static let maxTabulatedDestinationRules = 10

    public init(_ policy: Policy, version: Int? = nil) {
        self.policy = policy
        self.version = version
        baseDestinations = RegionSet(policy.defaults.destinations)
        baseExclusions = RegionSet(policy.defaults.excludeDestinations)
        var slots: [Int] = []
        var compiled: [CompiledRule] = []
        for (i, rule) in policy.rules.enumerated() {
            let narrows = rule.destinations != nil || rule.excludeDestinations != nil
            if narrows { slots.append(i) }
            compiled.append(CompiledRule(rule, slot: narrows ? slots.count - 1 : -1))
        }
        rules = compiled
        if slots.count <= PolicyEvaluator.maxTabulatedDestinationRules {
            var table = [Regions(permitted: baseDestinations, excluded: baseExclusions)]
            for subset in 1..<(1 << slots.count) {
                let low = subset.trailingZeroBitCount  // table[subset] = table[subset without its lowest rule] narrowed by it
                table.append(table[subset & (subset - 1)].narrowed(by: compiled[slots[low]]))
            }
            destinationTable = table
        } else {
            destinationTable = []
        }
    }

    /// Evaluates the policy for one request. Deterministic: same inputs, same decision.
    public func evaluate(findings: [Finding], request: RequestContext) -> Decision {
        let defaults = policy.defaults
        let classification = request.classification ?? defaults.classification
        let count = findings.count

        // Per finding: winning rank (-1 = no rule action yet) and rule index.
        var rank = [Int8](repeating: -1, count: count)
        var winner = [Int16](repeating: -1, count: count)
        var bits = [UInt64](repeating: 0, count: count)
        for i in 0..<count where findings[i].score >= defaults.minScore {
            bits[i] = EntitySet.bit(findings[i].type)  // 0 keeps ignored findings out of every rule
        }

        var fired: [Int] = []
        var requestBlockers: [Int] = []
        var residency: [Int] = []
        var destinationSubset = 0
        var regions = Regions(permitted: baseDestinations, excluded: baseExclusions)  // used only past the tabulated size
        var required = defaults.local == .required, forbidden = defaults.local == .forbidden
        var preferred = defaults.local == .preferred
        var capture = policy.retention.capturePayloads

        for index in rules.indices {
            let rule = rules[index]
            guard requestMatches(rule, request, classification) else { continue }
            var matched = false
            let actionRank = Int8(rule.action?.restrictiveness ?? -1)
            for i in 0..<count where bits[i] & rule.entityBits != 0 && findings[i].score >= rule.minScore {
                matched = true
                if actionRank > rank[i] {
                    rank[i] = actionRank
                    winner[i] = Int16(index)
                }
            }
            if rule.hasEntities && !matched { continue }
            fired.append(index)
            if !rule.hasEntities && rule.action == .block { requestBlockers.append(index) }
            var narrows = false
            if rule.destinationSlot >= 0 {
                if destinationTable.isEmpty { regions = regions.narrowed(by: rule) } else { destinationSubset |= 1 << rule.destinationSlot }
                narrows = true
            }
            switch rule.local {
            case .required?: required = true; narrows = true
            case .forbidden?: forbidden = true; narrows = true
            case .preferred?: preferred = true
            case .allowed?, nil: break
            }
            if narrows { residency.append(index) }
            if rule.capturePayloads == false { capture = false }
        }

        // Findings: rule action, else the default; collect blockers in policy order.
        var out: [FindingDecision] = []
        out.reserveCapacity(count)
        var blockingRules = requestBlockers
        var defaultBlocks = false
        for i in 0..<count {
            if bits[i] == 0 {
                out.append(FindingDecision(action: .allow, ignored: true))
            } else if winner[i] >= 0 {
                let rule = rules[Int(winner[i])]
                let action = rule.action ?? defaults.action
                if action == .block && !blockingRules.contains(Int(winner[i])) { blockingRules.append(Int(winner[i])) }
                out.append(FindingDecision(action: action, ruleID: rule.id))
            } else {
                if defaults.action == .block { defaultBlocks = true }
                out.append(FindingDecision(action: defaults.action))
            }
        }
        var blockedBy = blockingRules.sorted().map { rules[$0].id }
        if defaultBlocks { blockedBy.append("defaults") }

        if !destinationTable.isEmpty { regions = destinationTable[destinationSubset] }
        var destinations = regions.permitted
        let local: LocalUse
        if required && forbidden {
            local = .forbidden  // contradictory rules: nowhere is permitted, so the request gets a 451
            destinations = .none
        } else if required {
            local = .required
            destinations = .none
        } else if forbidden {
            local = .forbidden
        } else {
            local = preferred ? .preferred : .allowed
        }
        var retention = policy.retention
        retention.capturePayloads = capture

        return Decision(
            policyName: policy.name, policyVersion: version, mode: policy.mode, findings: out, blockedBy: blockedBy,
            destinations: destinations, excludedDestinations: regions.excluded, local: local, residencyRuleIDs: residency.map { rules[$0].id },
            retention: retention, firedRuleIDs: fired.map { rules[$0].id })
    }

    @inline(__always)
    private func requestMatches(_ rule: CompiledRule, _ request: RequestContext, _ classification: String?) -> Bool {
        if let wanted = rule.classification {
            guard let classification, wanted.contains(classification) else { return false }
        }
        if let models = rule.models, !models.contains(where: { $0.matches(request.model) }) { return false }
        if let tenants = rule.tenants, !tenants.contains(request.tenant) { return false }
        if let regions = rule.callerRegions {
            guard let caller = request.callerRegion, regions.contains(caller) else { return false }
        }
        return true
    }
}

extension Policy {
    /// Convenience for one-off evaluation; compiles the policy on every call, so hot paths
    /// should keep a `PolicyEvaluator`.
    public func evaluate(findings: [Finding], request: RequestContext) -> Decision {
        PolicyEvaluator(self).evaluate(findings: findings, request: request)
    }
}
