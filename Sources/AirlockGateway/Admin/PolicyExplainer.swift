import AirlockCore
import AirlockDetect
import AirlockPolicy
import AirlockStore
import Foundation

/// What the gateway would do with a prompt or a chat-completions body for a tenant — scan,
/// evaluate (shadow mode as the gateway does it), plan the route — calling no provider.
/// Shared by `airlock policy explain` and `POST /admin/v1/explain`. Renders entity types,
/// offsets, scores and JSON paths, never the values found.
public struct PolicyExplainer: Sendable {
    public struct Located: Sendable {
        /// Where in a request body the scanned string is (nil for a plain prompt).
        public var path: String?
        /// Code-point offsets into the scanned string.
        public var finding: Finding
    }

    public struct Scanned: Sendable {
        public var findings: [Located]
        public var model: String?
        public var strings: Int
        public var characters: Int
        public var isRequest: Bool
    }

    /// A provider and where it was configured (configuration, database, local engine).
    public struct SourcedProvider: Sendable {
        public var provider: ProviderConfig
        public var source: String
        public init(_ provider: ProviderConfig, source: String) {
            self.provider = provider
            self.source = source
        }
    }

    public struct Explanation: Sendable {
        public var tenant: String
        public var model: String
        public var classification: String?
        public var scanned: Scanned
        public var active: GovernanceSnapshot.ActivePolicy?
        /// For a shadow-mode active policy: the version enforced instead (nil → the default policy).
        public var previous: GovernanceSnapshot.ActivePolicy?
        public var defaultPolicyPath: String
        public var decision: Decision
        public var shadow: Decision?
        public var providers: [SourcedProvider]
        public var plan: RoutePlan
    }

    public let scanner: AirlockDetect.Scanner

    public init(scanner: AirlockDetect.Scanner = AirlockDetect.Scanner()) {
        self.scanner = scanner
    }

    public func scan(text: String) -> Scanned {
        let found = AirlockDetect.Scanner.codePointSpans(scanner.scan(text), in: text)
        return Scanned(findings: found.map { Located(path: nil, finding: $0) }, model: nil, strings: 1,
                       characters: text.unicodeScalars.count, isRequest: false)
    }

    /// The same strings the gateway scans in a chat-completions body.
    public func scan(request body: JSONValue, characters: Int = 0) -> Scanned {
        var located: [Located] = []
        var strings = 0
        RequestTransformer.forEachUserString(in: body) { path, s in
            strings += 1
            for f in AirlockDetect.Scanner.codePointSpans(scanner.scan(s), in: s) { located.append(Located(path: path, finding: f)) }
        }
        var model: String?
        if case .object(let object) = body { model = object["model"]?.stringValue }
        return Scanned(findings: located, model: model, strings: strings, characters: characters, isRequest: true)
    }

    public func explain(snapshot: GovernanceSnapshot, tenant: String, model: String?, classification: String?, scanned: Scanned,
                        defaultPolicy: Policy, defaultPolicyPath: String, providers: [SourcedProvider]) -> Explanation {
        let requestedModel = model ?? scanned.model ?? "gpt-4o"
        let active = snapshot.activePolicy(tenant: tenant)
        let evaluator = active.map { PolicyEvaluator($0.policy, version: $0.version) } ?? PolicyEvaluator(defaultPolicy)
        let context = RequestContext(tenant: tenant, model: requestedModel, classification: classification, callerRegion: nil)
        let findings = scanned.findings.map(\.finding)
        var decision = evaluator.evaluate(findings: findings, request: context)
        var shadow: Decision?
        let previous = decision.mode == .shadow ? snapshot.previousEnforcedPolicy(tenant: tenant) : nil
        if decision.mode == .shadow {
            // As in the gateway: a shadow policy is only recorded; the last enforce-mode version
            // (else the default policy) is enforced.
            shadow = decision
            decision = (previous.map { PolicyEvaluator($0.policy, version: $0.version) } ?? PolicyEvaluator(defaultPolicy))
                .evaluate(findings: findings, request: context)
            decision.mode = .enforce
        }
        let plan = RoutePlanner(providers: providers.map(\.provider)).plan(decision: decision, model: requestedModel)
        return Explanation(tenant: tenant, model: requestedModel, classification: classification, scanned: scanned, active: active,
                           previous: previous, defaultPolicyPath: defaultPolicyPath, decision: decision, shadow: shadow,
                           providers: providers, plan: plan)
    }
}

extension PolicyExplainer.Explanation {
    public var policySource: String {
        if let active {
            return "database, active version \(active.version) (sha256 \(active.sha256.prefix(12)))"
                + (shadow == nil ? "" : ", in shadow mode: "
                    + (previous.map { "version \($0.version) (the last in enforce mode) is enforced" }
                        ?? "the default policy \(defaultPolicyPath) is enforced"))
        }
        return "default policy \(defaultPolicyPath) (tenant \(tenant) has no active policy)"
    }

    /// The `policy explain --json` document.
    public var jsonValue: JSONValue {
        let findings = scanned.findings.map(\.finding)
        let enforcedFromDatabase = shadow == nil ? active : previous
        var out = JSONObject([
            ("tenant", .string(tenant)), ("model", .string(model)),
            ("classification", classification.map(JSONValue.string) ?? .null),
            ("input", .string(scanned.isRequest ? "request" : "text")),
            ("policy_source", .object(JSONObject([
                ("kind", .string(active == nil ? "default" : "database")),
                ("version", active.map { .int($0.version) } ?? .null),
                ("file", active == nil ? .string(defaultPolicyPath) : .null),
            ]))),
            ("enforced_policy", .object(JSONObject([
                ("kind", .string(enforcedFromDatabase == nil ? "default" : "database")),
                ("version", enforcedFromDatabase.map { .int($0.version) } ?? .null),
            ]))),
            ("decision", Self.withPaths(decision.jsonValue(findings: findings), scanned)),
        ])
        if let shadow { out["shadow_decision"] = Self.withPaths(shadow.jsonValue(findings: findings), scanned) }
        out["providers"] = .array(providers.map { s in
            let p = s.provider
            return .object(JSONObject([("name", .string(p.name)), ("kind", .string(p.kind.rawValue)), ("region", .string(p.region.value)),
                                       ("enabled", .bool(p.enabled)), ("source", .string(s.source))]))
        })
        out["route"] = plan.jsonValue
        return .object(out)
    }

    /// `Decision.explanation`, with each finding line naming where in the request it is.
    public func explanation(_ decision: Decision) -> String {
        let located = scanned.findings
        let text = decision.explanation(findings: located.map(\.finding))
        guard scanned.isRequest else { return text }
        var index = 0
        var inFindings = false
        return text.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            if line.hasPrefix("findings:") { inFindings = true; return String(line) }
            guard inFindings, line.hasPrefix("  ") else { inFindings = false; return String(line) }
            defer { index += 1 }
            guard index < located.count, let path = located[index].path else { return String(line) }
            return "\(line) in \(path)"
        }.joined(separator: "\n")
    }

    /// Adds each finding's JSON path to `Decision.jsonValue(findings:)` for request bodies.
    static func withPaths(_ value: JSONValue, _ scanned: PolicyExplainer.Scanned) -> JSONValue {
        guard scanned.isRequest, case .object(var o) = value, case .array(var items)? = o["findings"] else { return value }
        for i in items.indices where i < scanned.findings.count {
            if case .object(var item) = items[i], let path = scanned.findings[i].path {
                item["path"] = .string(path)
                items[i] = .object(item)
            }
        }
        o["findings"] = .array(items)
        return .object(o)
    }
}
