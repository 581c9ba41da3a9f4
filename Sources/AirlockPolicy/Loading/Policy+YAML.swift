import AirlockCore
import Foundation
import Yams

extension Policy {
    /// Parses and validates a policy document, reporting every problem at once.
    /// - Parameter file: shown in problems (`Policies/kr.yaml`); nil prints `<policy>`.
    public init(yaml: String, file: String? = nil) throws(PolicyValidationError) {
        var reader = YAMLReader(file: file)
        guard let root = reader.compose(yaml), let policy = Policy.read(root, &reader), reader.problems.isEmpty else {
            throw PolicyValidationError(problems: reader.sortedProblems)
        }
        self = policy
    }

    /// Reads and validates a policy file; problems name `path` as given.
    public static func load(contentsOf path: String) throws(PolicyValidationError) -> Policy {
        try Policy(yaml: try PolicyFile.read(path), file: path)
    }

    static let topLevelKeys = ["apiVersion", "kind", "name", "description", "mode", "defaults", "rules", "retention", "limits"]

    static func read(_ root: Node, _ r: inout YAMLReader) -> Policy? {
        guard let f = r.fields(root, "", allowed: topLevelKeys, required: ["apiVersion", "name"]) else { return nil }
        PolicyFile.checkHeader(f, expectedKind: PolicyFile.Kind.policy, &r)

        var policy = Policy(name: "")
        if let n = f["name"], let name = r.string(n, "name") {
            if YAMLReader.isSlug(name) { policy.name = name } else {
                r.report(.invalidValue, n, "name", "invalid name '\(name)' (lower-case letters, digits, '.', '_', '-'; at most 64)")
            }
        }
        if let n = f["description"] { policy.description = r.string(n, "description") }
        if let n = f["mode"], let mode = r.word(n, "mode", "mode", as: PolicyMode.self) { policy.mode = mode }
        if let n = f["defaults"], let d = readDefaults(n, "defaults", &r) { policy.defaults = d }
        if let n = f["rules"], let list = r.items(n, "rules") {
            var seen: [String: String] = [:]
            for (item, path) in list {
                guard let rule = readRule(item, path, &r) else { continue }
                if let first = seen[rule.id] {
                    r.report(.duplicate, item["id"] ?? item, YAMLReader.child(path, "id"), "duplicate rule id '\(rule.id)' (first used at \(first))")
                } else {
                    seen[rule.id] = path
                }
                policy.rules.append(rule)
            }
        }
        if let n = f["retention"], let ret = readRetention(n, "retention", &r) { policy.retention = ret }
        if let n = f["limits"], let lim = readLimits(n, "limits", &r) { policy.limits = lim }
        return policy
    }

    // MARK: Sections

    private static func readDefaults(_ node: Node, _ path: String, _ r: inout YAMLReader) -> PolicyDefaults? {
        guard let f = r.fields(node, path, allowed: ["action", "destinations", "exclude_destinations", "local", "min_score", "classification"]) else { return nil }
        var d = PolicyDefaults()
        if let n = f["action"], let a = r.word(n, YAMLReader.child(path, "action"), "action", as: PolicyAction.self) { d.action = a }
        if let n = f["destinations"], let list = readDestinations(n, YAMLReader.child(path, "destinations"), &r) { d.destinations = list }
        if let n = f["exclude_destinations"], let list = readExclusions(n, YAMLReader.child(path, "exclude_destinations"), &r) {
            d.excludeDestinations = list
        }
        if let n = f["local"], let l = r.word(n, YAMLReader.child(path, "local"), "local use", as: LocalUse.self) { d.local = l }
        if let n = f["min_score"], let s = r.double(n, YAMLReader.child(path, "min_score"), in: 0...1) { d.minScore = s }
        if let n = f["classification"], let c = r.string(n, YAMLReader.child(path, "classification")) {
            if isClassification(c) { d.classification = c } else {
                r.report(.invalidValue, n, YAMLReader.child(path, "classification"), "invalid classification '\(c)' (lower-case letters, digits, '_', '-')")
            }
        }
        return d
    }

    private static let ruleKeys = ["id", "description", "when", "action", "destinations", "exclude_destinations", "local", "capture_payloads"]

    private static func readRule(_ node: Node, _ path: String, _ r: inout YAMLReader) -> PolicyRule? {
        guard let f = r.fields(node, path, allowed: ruleKeys, required: ["id"]) else { return nil }
        var rule = PolicyRule(id: "")
        if let n = f["id"], let id = r.string(n, YAMLReader.child(path, "id")) {
            if YAMLReader.isSlug(id) { rule.id = id } else {
                r.report(.invalidValue, n, YAMLReader.child(path, "id"), "invalid rule id '\(id)' (lower-case letters, digits, '.', '_', '-')")
            }
        }
        if let n = f["description"] { rule.description = r.string(n, YAMLReader.child(path, "description")) }
        if let n = f["when"], let c = readCondition(n, YAMLReader.child(path, "when"), &r) { rule.when = c }
        if let n = f["action"] { rule.action = r.word(n, YAMLReader.child(path, "action"), "action", as: PolicyAction.self) }
        if let n = f["destinations"] { rule.destinations = readDestinations(n, YAMLReader.child(path, "destinations"), &r) }
        if let n = f["exclude_destinations"] { rule.excludeDestinations = readExclusions(n, YAMLReader.child(path, "exclude_destinations"), &r) }
        if let n = f["local"] { rule.local = r.word(n, YAMLReader.child(path, "local"), "local use", as: LocalUse.self) }
        if let n = f["capture_payloads"] { rule.capturePayloads = r.bool(n, YAMLReader.child(path, "capture_payloads")) }
        // A rule that changes nothing is almost always a typo'd or half-written rule.
        if ["action", "destinations", "exclude_destinations", "local", "capture_payloads"].allSatisfy({ f[$0] == nil }) {
            r.report(.missingField, node, path,
                     "rule '\(rule.id)' has no effect (give at least one of action, destinations, exclude_destinations, local, capture_payloads)")
        }
        if f["id"] == nil || rule.id.isEmpty { return nil }
        return rule
    }

    private static func readCondition(_ node: Node, _ path: String, _ r: inout YAMLReader) -> RuleCondition? {
        let keys = ["entities", "min_score", "classification", "models", "tenants", "caller_regions"]
        guard let f = r.fields(node, path, allowed: keys) else { return nil }
        var c = RuleCondition()
        if let n = f["entities"], let list = r.items(n, YAMLReader.child(path, "entities")) {
            if list.isEmpty { r.report(.invalidValue, n, YAMLReader.child(path, "entities"), "empty list (it would never match)") }
            var selectors: [EntitySelector] = []
            for (item, itemPath) in list {
                guard let text = r.string(item, itemPath) else { continue }
                if let s = EntitySelector(text) { selectors.append(s); continue }
                let names = EntityType.allNames + EntityGroup.allCases.map(\.rawValue)
                let hint = YAMLReader.suggestion(for: text, among: names).map { " (did you mean '\($0)'?)" }
                    ?? " (expected an entity type such as KR_RRN or a group: \(EntityGroup.allCases.map(\.rawValue).joined(separator: ", ")))"
                r.report(.invalidValue, item, itemPath, "unknown entity '\(text)'" + hint)
            }
            if selectors.count == list.count && !list.isEmpty { c.entities = selectors }
        }
        if let n = f["min_score"] { c.minScore = r.double(n, YAMLReader.child(path, "min_score"), in: 0...1) }
        if let n = f["classification"] {
            c.classification = r.strings(n, YAMLReader.child(path, "classification"), "classification", valid: isClassification)
        }
        if let n = f["models"] {
            c.models = r.strings(n, YAMLReader.child(path, "models"), "model pattern") { !$0.isEmpty && !$0.contains(where: \.isWhitespace) }
        }
        if let n = f["tenants"] { c.tenants = r.strings(n, YAMLReader.child(path, "tenants"), "tenant id") }
        if let n = f["caller_regions"] {
            c.callerRegions = r.strings(n, YAMLReader.child(path, "caller_regions"), "region pattern", hint: "expected a country like 'kr', 'eu-*' or a cloud region") {
                RegionSet.isValidPattern($0) && $0 != Region.local.value
            }
        }
        return c
    }

    private static func readDestinations(_ node: Node, _ path: String, _ r: inout YAMLReader) -> [String]? {
        r.strings(node, path, "region pattern", hint: "expected '*', 'local', a country like 'kr', 'eu-*' or a cloud region like 'us-east'",
                  nonEmpty: false, valid: RegionSet.isValidPattern)
    }

    private static func readExclusions(_ node: Node, _ path: String, _ r: inout YAMLReader) -> [String]? {
        r.strings(node, path, "excluded region", hint: "expected a country like 'cn', 'eu-*' or a cloud region; use `local: forbidden` for the host") {
            RegionSet.isValidPattern($0) && $0 != "*" && $0 != Region.local.value
        }
    }

    private static func readRetention(_ node: Node, _ path: String, _ r: inout YAMLReader) -> Retention? {
        guard let f = r.fields(node, path, allowed: ["audit_days", "payload_days", "capture_payloads", "fail_closed"]) else { return nil }
        var ret = Retention.default
        if let n = f["audit_days"], let v = r.int(n, YAMLReader.child(path, "audit_days"), in: 1...36_500) { ret.auditDays = v }
        if let n = f["payload_days"], let v = r.int(n, YAMLReader.child(path, "payload_days"), in: 0...36_500) { ret.payloadDays = v }
        if let n = f["capture_payloads"], let v = r.bool(n, YAMLReader.child(path, "capture_payloads")) { ret.capturePayloads = v }
        if let n = f["fail_closed"], let v = r.bool(n, YAMLReader.child(path, "fail_closed")) { ret.failClosed = v }
        if ret.payloadDays > ret.auditDays {
            r.report(.invalidValue, f["payload_days"] ?? node, YAMLReader.child(path, "payload_days"),
                     "payloads (\(ret.payloadDays) days) cannot outlive their audit records (\(ret.auditDays) days)")
        }
        if ret.capturePayloads && ret.payloadDays == 0 {
            r.report(.invalidValue, f["capture_payloads"] ?? node, YAMLReader.child(path, "capture_payloads"),
                     "payloads are captured but payload_days is 0 (set payload_days, or capture_payloads: false)")
        }
        return ret
    }

    private static func readLimits(_ node: Node, _ path: String, _ r: inout YAMLReader) -> RateLimits? {
        guard let f = r.fields(node, path, allowed: ["requests_per_minute", "tokens_per_day"]) else { return nil }
        var lim = RateLimits.unlimited
        for key in ["requests_per_minute", "tokens_per_day"] {
            guard let n = f[key], !YAMLReader.has(n, .null) else { continue }  // `~` keeps it unlimited
            let v = r.int(n, YAMLReader.child(path, key), in: 1...1_000_000_000_000)
            if key == "requests_per_minute" { lim.requestsPerMinute = v } else { lim.tokensPerDay = v }
        }
        return lim
    }

    static func isClassification(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5F || $0 == 0x2D }
    }
}

extension EntityType {
    static let allNames = allCases.map(\.rawValue)
}
