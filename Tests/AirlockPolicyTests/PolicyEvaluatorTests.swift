import AirlockCore
import Testing

@testable import AirlockPolicy

@Suite("Evaluating a policy to a decision")
struct PolicyEvaluatorTests {
    typealias F = Fixture

    @Test func actionOrderIsDocumented() {
        #expect(PolicyAction.allCases.sorted() == [.allow, .mask, .pseudonymize, .hash, .redact, .block])
        #expect(PolicyAction.allCases.map(\.restrictiveness) == [0, 1, 2, 3, 4, 5])
    }

    /// Every ordered pair of actions on two rules matching the same finding: the more
    /// restrictive wins and names its rule, whatever the rule order.
    @Test(arguments: PolicyAction.allCases)
    func mostRestrictiveActionWins(first: PolicyAction) throws {
        for second in PolicyAction.allCases {
            let p = try F.policy("""
                rules:
                  - { id: one, when: { entities: [EMAIL_ADDRESS] }, action: \(first) }
                  - { id: two, when: { entities: [contact] }, action: \(second) }
                """)
            let d = F.decide(p, [F.finding(.emailAddress)])
            let expected = max(first, second)
            #expect(d.findings[0].action == expected)
            #expect(d.findings[0].ruleID == (first >= second ? "one" : "two"))
            #expect(d.firedRuleIDs == ["one", "two"])
            #expect(d.isBlocked == (expected == .block))
        }
    }

    @Test func defaultActionAppliesOnlyToUnmatchedFindings() throws {
        let p = try F.policy("""
            defaults: { action: redact }
            rules:
              - { id: urls-pass, when: { entities: [URL] }, action: allow }
              - { id: ids-only-here, when: { entities: [KR_RRN] }, destinations: [kr] }
            """)
        let d = F.decide(p, [F.finding(.url), F.finding(.emailAddress, at: 1), F.finding(.krRRN, at: 2)])
        #expect(d.findings == [
            FindingDecision(action: .allow, ruleID: "urls-pass"),  // a rule overrides the default, even downwards
            FindingDecision(action: .redact),
            FindingDecision(action: .redact),  // matched only by a rule without an action
        ])
        #expect(d.firedRuleIDs == ["urls-pass", "ids-only-here"])
    }

    @Test func findingsBelowTheThresholdAreIgnoredByEveryRule() throws {
        let p = try F.policy("""
            defaults: { action: mask, min_score: 0.5 }
            rules:
              - { id: block-all, action: block }
            """)
        let d = F.decide(p, [F.finding(.person, score: 0.49), F.finding(.person, score: 0.5, at: 1)])
        #expect(d.findings[0] == FindingDecision(action: .allow, ignored: true))
        #expect(d.findings[1] == FindingDecision(action: .block, ruleID: "block-all"))
    }

    @Test func ruleMinScoreNarrowsWhichFindingsFire() throws {
        let p = try F.policy("""
            rules:
              - { id: strong-cards, when: { entities: [CREDIT_CARD], min_score: 0.9 }, action: block }
            """)
        let weak = F.decide(p, [F.finding(.creditCard, score: 0.8)])
        #expect(!weak.isBlocked && weak.firedRuleIDs.isEmpty && weak.findings[0].action == .allow)
        let strong = F.decide(p, [F.finding(.creditCard, score: 0.8), F.finding(.creditCard, score: 0.95, at: 1)])
        #expect(strong.blockedBy == ["strong-cards"])
        #expect(strong.findings.map(\.action) == [.allow, .block])
    }

    @Test func groupsExpandToTheirMembers() throws {
        for group in EntityGroup.allCases {
            let p = try F.policy("rules:\n  - { id: g, when: { entities: [\(group.rawValue)] }, action: hash }\n")
            for type in EntityType.allCases {
                let d = F.decide(p, [F.finding(type)])
                #expect((d.findings[0].action == .hash) == group.members.contains(type), "\(group) / \(type)")
            }
        }
        #expect(EntityGroup.secrets.members == Set(EntityType.allCases.filter(\.isSecret)))
        #expect(EntityGroup.personal.members.union(EntityGroup.secrets.members) == Set(EntityType.allCases))
        #expect(EntityGroup.personal.members.isDisjoint(with: EntityGroup.secrets.members))
    }

    @Test func entityBitsMatchAllCasesPositions() {
        for (i, type) in EntityType.allCases.enumerated() {
            #expect(EntitySet.bit(type) == 1 << UInt64(i))
            #expect(EntitySet([type]).contains(type))
        }
        #expect(EntitySet.all.bits.nonzeroBitCount == EntityType.allCases.count)
    }

    @Test func requestLevelRuleFiresWithoutFindingsAndBlocks() throws {
        let p = try F.policy("""
            rules:
              - { id: no-o1-for-contractors, when: { models: ["o1*"], tenants: [contractors] }, action: block }
            """)
        #expect(F.decide(p, [], F.request(model: "o1-mini", tenant: "contractors")).blockedBy == ["no-o1-for-contractors"])
        #expect(!F.decide(p, [], F.request(model: "o1-mini", tenant: "acme")).isBlocked)
        #expect(!F.decide(p, [], F.request(model: "gpt-4o", tenant: "contractors")).isBlocked)
    }

    @Test func requestLevelActionAppliesToEveryFinding() throws {
        let p = try F.policy("rules:\n  - { id: restricted-redacts, when: { classification: [restricted] }, action: redact }\n")
        let d = F.decide(p, [F.finding(.person), F.finding(.url, at: 1)], F.request(classification: "RESTRICTED"))
        #expect(d.findings.map(\.action) == [.redact, .redact])
        #expect(F.decide(p, [F.finding(.person)], F.request(classification: "internal")).findings[0].action == .allow)
    }

    @Test func classificationDefaultsWhenUndeclared() throws {
        let p = try F.policy("""
            defaults: { classification: confidential }
            rules:
              - { id: conf, when: { classification: [confidential] }, local: required }
            """)
        #expect(F.decide(p, []).local == .required)
        #expect(F.decide(p, [], F.request(classification: "public")).local == .allowed)
        let none = try F.policy("rules:\n  - { id: conf, when: { classification: [confidential] }, local: required }\n")
        #expect(F.decide(none, []).local == .allowed)
    }

    @Test func modelPatterns() {
        let cases: [(String, String, Bool)] = [
            ("gpt-4o", "gpt-4o", true), ("gpt-4o", "gpt-4o-mini", false), ("gpt-4*", "gpt-4o-mini", true),
            ("*-mini", "o3-mini", true), ("*-mini", "o3-mini-high", false), ("o*-mini", "o3-mini", true),
            ("*", "anything", true), ("a*b*c", "aXbYc", true), ("a*b*c", "acb", false), ("a*a", "a", false),
            ("deepseek-*", "deepseek-", true), ("*mid*", "xxmidyy", true), ("*mid*", "mi", false),
        ]
        for (pattern, model, expected) in cases {
            #expect(ModelPattern(pattern).matches(model) == expected, "\(pattern) ~ \(model)")
        }
    }

    @Test func callerRegionCondition() throws {
        let p = try F.policy("rules:\n  - { id: eu, when: { caller_regions: [\"eu-*\"] }, destinations: [\"eu-*\"] }\n")
        #expect(F.decide(p, [], F.request(caller: "eu-west")).destinations.patterns == ["eu"])
        #expect(F.decide(p, [], F.request(caller: "us-east")).destinations == .all)
        #expect(F.decide(p, [], F.request()).firedRuleIDs.isEmpty)  // unknown caller region: not in the EU
    }

    @Test func destinationsIntersectAcrossFiredRules() throws {
        let p = try F.policy("""
            defaults: { destinations: [kr, us, "eu-*"] }
            rules:
              - { id: a, when: { entities: [PERSON] }, destinations: [kr, "eu-*", jp] }
              - { id: b, when: { entities: [EMAIL_ADDRESS] }, destinations: [eu-west, kr-seoul] }
              - { id: c, when: { entities: [URL] }, destinations: [us] }
            """)
        #expect(F.decide(p, []).destinations.patterns == ["eu", "kr", "us"])
        #expect(F.decide(p, [F.finding(.person)]).destinations.patterns == ["eu", "kr"])
        let ab = F.decide(p, [F.finding(.person), F.finding(.emailAddress, at: 1)])
        #expect(ab.destinations.patterns == ["eu-west", "kr-seoul"])
        #expect(ab.residencyRuleIDs == ["a", "b"])
        #expect(ab.permits(Region("kr-seoul")) && !ab.permits(Region("kr-busan")) && ab.permits(.local))
        let abc = F.decide(p, [F.finding(.person), F.finding(.emailAddress, at: 1), F.finding(.url, at: 2)])
        #expect(abc.destinations.isEmpty)
        #expect(abc.destinationSummary == "(none)")
    }

    @Test func exclusionsUniteAndSubtract() throws {
        let p = try F.policy("""
            defaults: { exclude_destinations: [ru] }
            rules:
              - { id: no-cn, when: { entities: [personal] }, exclude_destinations: [cn] }
              - { id: kr-only, when: { entities: [KR_RRN] }, destinations: [kr, cn] }
            """)
        let d = F.decide(p, [F.finding(.person)])
        #expect(d.excludedDestinations.patterns == ["cn", "ru"])
        #expect(d.destinationSummary == "* except cn, ru")
        #expect(d.permits(Region("us-east")) && !d.permits(Region("cn")) && !d.permits(Region("cn-north")) && !d.permits(Region("ru")))
        let both = F.decide(p, [F.finding(.krRRN)])  // KR_RRN is personal too: kr ∪ cn minus cn
        #expect(both.permits(Region("kr")) && !both.permits(Region("cn")))
        #expect(both.residencyRuleIDs == ["no-cn", "kr-only"])
    }

    @Test func localUseCombination() throws {
        func decision(_ defaults: LocalUse, _ rules: [LocalUse]) throws -> Decision {
            let body = rules.enumerated().map { "  - { id: r\($0.offset), local: \($0.element) }" }.joined(separator: "\n")
            return F.decide(try F.policy("defaults: { local: \(defaults) }\n" + (rules.isEmpty ? "" : "rules:\n" + body + "\n")), [])
        }
        #expect(try decision(.allowed, []).local == .allowed)
        #expect(try decision(.allowed, [.preferred]).local == .preferred)
        #expect(try decision(.preferred, [.forbidden]).local == .forbidden)
        #expect(try decision(.allowed, [.required, .preferred]).local == .required)
        let required = try decision(.allowed, [.required])
        #expect(required.destinations.isEmpty && required.permitsLocal)
        #expect(required.residencyRuleIDs == ["r0"])
        let conflict = try decision(.required, [.forbidden])
        #expect(conflict.local == .forbidden && conflict.destinations.isEmpty && !conflict.permitsLocal)
        #expect(try decision(.forbidden, []).permitsLocal == false)
        // destination lists never exclude the engine
        let p = try F.policy("defaults: { destinations: [us] }\nrules:\n  - { id: kr, destinations: [kr] }\n")
        let d = F.decide(p, [])
        #expect(d.destinations.isEmpty && d.permits(.local))
    }

    @Test func retentionCaptureTurnsOffPerRule() throws {
        let p = try F.policy("""
            retention: { audit_days: 365, payload_days: 30, capture_payloads: true, fail_closed: true }
            rules:
              - { id: no-capture, when: { entities: [KR_RRN] }, capture_payloads: false }
            """)
        #expect(F.decide(p, []).retention.retentionClass == "audit-365d.payload-30d.fail-closed")
        let d = F.decide(p, [F.finding(.krRRN)])
        #expect(!d.retention.capturePayloads && d.retention.retentionClass == "audit-365d.payload-none.fail-closed")
    }

    @Test func blockedByListsRulesInPolicyOrderAndDefaults() throws {
        let p = try F.policy("""
            defaults: { action: block }
            rules:
              - { id: keys, when: { entities: [secrets] }, action: block }
              - { id: wide, when: { models: [gpt-4o] }, action: block }
              - { id: emails-ok, when: { entities: [EMAIL_ADDRESS] }, action: allow }
            """)
        let d = F.decide(p, [F.finding(.jwt), F.finding(.person, at: 1), F.finding(.emailAddress, at: 2)])
        #expect(d.blockedBy == ["keys", "wide"])
        let m = F.decide(p, [F.finding(.person), F.finding(.emailAddress, at: 1)], F.request(model: "o1"))
        #expect(m.blockedBy == ["defaults"])
        #expect(m.findings.map(\.action) == [.block, .allow])
        #expect(F.decide(p, [F.finding(.emailAddress)], F.request(model: "o1")).isBlocked == false)
    }

    @Test func headerAndSummaries() throws {
        let p = try F.policy("mode: shadow\nrules:\n  - { id: m, when: { entities: [PHONE_NUMBER] }, action: mask }\n")
        let d = F.decide(p, [F.finding(.phoneNumber)])
        #expect(d.headerValue == "shadow:mask")
        #expect(d.strongestAction == .mask && d.transformsContent)
        #expect(F.decide(.passthrough, []).headerValue == "allow")
    }

    @Test func evaluationIsDeterministicAndIndexAligned() throws {
        let p = try Fixture.shipped("kr-pipa.yaml")
        let findings = EntityType.allCases.enumerated().map { F.finding($0.element, score: Double($0.offset % 10) / 10, at: $0.offset) }
        let evaluator = PolicyEvaluator(p, version: 7)
        let first = evaluator.evaluate(findings: findings, request: F.request(classification: "internal"))
        #expect(first.findings.count == findings.count)
        #expect(first.policyVersion == 7 && first.policyName == "kr-pipa")
        for _ in 0..<50 { #expect(evaluator.evaluate(findings: findings, request: F.request(classification: "internal")) == first) }
        #expect(p.evaluate(findings: findings, request: F.request(classification: "internal")).findings == first.findings)
    }

    /// The tabulated destination path (≤ 10 narrowing rules) and the direct path agree.
    @Test func manyDestinationRulesFallBackToDirectIntersection() throws {
        let regions = ["kr", "us", "jp", "de", "fr", "gb", "ca", "au", "sg", "in", "br", "mx"]
        var body = "rules:\n"
        for i in 0..<12 {
            let allowed = regions.enumerated().filter { $0.offset != i }.map(\.element).joined(separator: ", ")
            body += "  - { id: r\(i), when: { entities: [\(EntityType.allCases[i].rawValue)] }, destinations: [\(allowed)] }\n"
        }
        let p = try F.policy(body)
        let d = F.decide(p, [F.finding(EntityType.allCases[0]), F.finding(EntityType.allCases[11], at: 1)])
        #expect(d.destinations.patterns == regions.dropFirst().dropLast().sorted())
        let small = try F.policy("rules:\n" + body.split(separator: "\n").dropFirst().prefix(3).joined(separator: "\n") + "\n")
        #expect(F.decide(small, [F.finding(EntityType.allCases[0]), F.finding(EntityType.allCases[2], at: 1)]).destinations.patterns
            == ["au", "br", "ca", "de", "fr", "gb", "in", "jp", "mx", "sg", "us"].filter { $0 != "kr" && $0 != "jp" }.sorted())
    }

    @Test func shadowModeEnforcesThePreviousVersion() throws {
        let previous = PolicyEvaluator(try F.policy("rules:\n  - { id: old, when: { entities: [PERSON] }, action: mask }\n"), version: 1)
        let shadow = PolicyEvaluator(try F.policy("mode: shadow\nrules:\n  - { id: new, when: { entities: [PERSON] }, action: block }\n"), version: 2)
        let findings = [F.finding(.person)]
        let r = PolicyEvaluation.evaluate(active: shadow, previous: previous, findings: findings, request: F.request())
        #expect(r.enforced.findings[0].action == .mask && r.enforced.policyVersion == 1 && !r.enforced.isBlocked)
        #expect(r.shadow?.blockedBy == ["new"] && r.shadow?.mode == .shadow && r.shadow?.policyVersion == 2)
        let first = PolicyEvaluation.evaluate(active: shadow, previous: nil, findings: findings, request: F.request())
        #expect(first.enforced.policyName == "passthrough" && first.enforced.findings[0].action == .allow)
        let enforcing = PolicyEvaluation.evaluate(active: previous, previous: shadow, findings: findings, request: F.request())
        #expect(enforcing.shadow == nil && enforcing.enforced.policyVersion == 1)
    }

    @Test func renderingNamesRulesButNoData() throws {
        let p = try Fixture.shipped("kr-pipa.yaml")
        let findings = [F.finding(.krRRN, score: 0.99), F.finding(.person, score: 0.2, at: 1), F.finding(.url, at: 2)]
        let d = PolicyEvaluator(p, version: 3).evaluate(findings: findings, request: F.request())
        let json = d.jsonValue(findings: findings)
        #expect(json["policy"] == "kr-pipa" && json["policy_version"] == 3 && json["decision"] == "pseudonymize")
        #expect(json["destinations"] == ["kr"] && json["local"] == "allowed")
        #expect(json["fired_rules"] == ["kr-national-ids-stay-home"])
        #expect(json["findings"]?.arrayValue?.map { $0["rule"] } == ["kr-national-ids-stay-home", "ignored", "defaults"])
        #expect(json["findings"]?.arrayValue?.first?["type"] == "KR_RRN")
        #expect(json["retention"]?["class"] == "audit-730d.payload-30d.fail-closed")
        let text = d.explanation(findings: findings)
        #expect(text.contains("KR_RRN [0..<5] score 0.99 -> pseudonymize (rule kr-national-ids-stay-home)"))
        #expect(text.contains("PERSON [10..<15] score 0.20 -> allow (below min_score)"))
        #expect(text.contains("destinations: kr"))
        #expect(text.contains("policy:       kr-pipa v3 (enforce)"))
    }
}
