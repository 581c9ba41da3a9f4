import Foundation
import AirlockCore
import Testing

@testable import AirlockPolicy

@Suite("Loading and validating policy YAML")
struct PolicyLoadingTests {
    @Test func fullDocumentRoundTripsIntoTheModel() throws {
        let p = try Policy(yaml: """
            apiVersion: airlock/v1
            kind: Policy
            name: kr-pipa
            description: Korean ids stay home.
            mode: shadow
            defaults: { action: mask, destinations: ["*"], exclude_destinations: [cn], local: preferred, min_score: 0.4, classification: internal }
            rules:
              - id: ids
                when: { entities: [KR_RRN, secrets], min_score: 0.8, classification: [confidential], models: ["o1*"], tenants: [acme], caller_regions: [kr] }
                action: pseudonymize
                destinations: [kr, local]
                exclude_destinations: [kr-busan]
                local: required
                capture_payloads: false
            retention: { audit_days: 365, payload_days: 30, capture_payloads: true, fail_closed: true }
            limits: { requests_per_minute: 600, tokens_per_day: 2000000 }
            """, file: "kr.yaml")
        #expect(p.name == "kr-pipa")
        #expect(p.description == "Korean ids stay home.")
        #expect(p.mode == .shadow)
        #expect(p.defaults == PolicyDefaults(action: .mask, destinations: ["*"], excludeDestinations: ["cn"], local: .preferred,
                                             minScore: 0.4, classification: "internal"))
        #expect(p.rules.count == 1)
        let r = p.rules[0]
        #expect(r.id == "ids")
        #expect(r.when.entities == [.entity(.krRRN), .group(.secrets)])
        #expect(r.when.minScore == 0.8)
        #expect(r.when.classification == ["confidential"])
        #expect(r.when.models == ["o1*"])
        #expect(r.when.tenants == ["acme"])
        #expect(r.when.callerRegions == ["kr"])
        #expect(r.action == .pseudonymize)
        #expect(r.destinations == ["kr", "local"])
        #expect(r.excludeDestinations == ["kr-busan"])
        #expect(r.local == .required)
        #expect(r.capturePayloads == false)
        #expect(p.retention == Retention(auditDays: 365, payloadDays: 30, capturePayloads: true, failClosed: true))
        #expect(p.limits == RateLimits(requestsPerMinute: 600, tokensPerDay: 2_000_000))
    }

    @Test func minimalDocumentGetsDocumentedDefaults() throws {
        let p = try Policy(yaml: "apiVersion: airlock/v1\nname: minimal\n")
        #expect(p.mode == .enforce)
        #expect(p.defaults == PolicyDefaults())
        #expect(p.defaults.action == .allow && p.defaults.destinations == ["*"] && p.defaults.local == .allowed)
        #expect(p.rules.isEmpty)
        #expect(p.retention == .default)
        #expect(p.limits == .unlimited)
    }

    @Test func nullLimitMeansUnlimited() throws {
        let p = try Fixture.policy("limits: { requests_per_minute: ~, tokens_per_day: 5 }\n")
        #expect(p.limits == RateLimits(requestsPerMinute: nil, tokensPerDay: 5))
    }

    @Test func unknownActionPointsAtFileLineColumnAndField() throws {
        let yaml = """
            apiVersion: airlock/v1
            name: kr
            rules:
              - id: ok
                action: block
              - id: typo
                action: encrypt
            """
        let error = #expect(throws: PolicyValidationError.self) { try Policy(yaml: yaml, file: "Policies/kr.yaml") }
        let problem = try #require(error?.problems.first)
        #expect(error?.problems.count == 1)
        #expect(problem.code == .invalidValue)
        #expect(problem.line == 7 && problem.column == 13)
        #expect(problem.path == "rules[1].action")
        #expect(problem.description == "Policies/kr.yaml:7:13: rules[1].action: unknown action 'encrypt' (expected one of allow, mask, pseudonymize, hash, redact, block)")
    }

    @Test func unknownKeysAreErrorsWithSuggestions() throws {
        let error = #expect(throws: PolicyValidationError.self) {
            try Fixture.policy("""
                defaults: { actoin: block }
                rules:
                  - id: a
                    wehn: { entities: [KR_RRN] }
                    action: block
                colour: blue
                """)
        }
        #expect(error?.brief == [
            "3:defaults.actoin: unknown key 'actoin' (did you mean 'action'?)",
            "6:rules[0].wehn: unknown key 'wehn' (did you mean 'when'?)",
            "8:colour: unknown key 'colour' (expected one of apiVersion, kind, name, description, mode, defaults, rules, retention, limits)",
        ])
        #expect(error?.problems.allSatisfy { $0.code == .unknownKey } == true)
    }

    @Test func everyProblemIsReportedInDocumentOrder() throws {
        let error = #expect(throws: PolicyValidationError.self) {
            try Policy(yaml: """
                apiVersion: airlock/v2
                name: Bad Name
                mode: enforced
                defaults: { destinations: ["*", europe], min_score: 1.5 }
                rules:
                  - id: a
                    when: { entities: [KR_RNN, secret, ""] }
                    action: block
                  - id: a
                    when: { models: [] }
                  - id: c
                    destinations: cn
                  - action: block
                retention: { audit_days: 30, payload_days: 60 }
                limits: { requests_per_minute: 0, tokens_per_day: lots }
                """, file: "bad.yaml")
        }
        let lines = error?.brief ?? []
        #expect(lines == [
            "1:apiVersion: unsupported apiVersion 'airlock/v2' (expected airlock/v1)",
            "2:name: invalid name 'Bad Name' (lower-case letters, digits, '.', '_', '-'; at most 64)",
            "3:mode: unknown mode 'enforced' (did you mean 'enforce'? expected one of enforce, shadow)",
            "4:defaults.destinations[1]: invalid region pattern 'europe' (expected '*', 'local', a country like 'kr', 'eu-*' or a cloud region like 'us-east')",
            "4:defaults.min_score: 1.5 is out of range 0.0...1.0",
            "7:rules[0].when.entities[0]: unknown entity 'KR_RNN' (did you mean 'KR_RRN'?)",
            "7:rules[0].when.entities[1]: unknown entity 'secret' (did you mean 'secrets'?)",
            "7:rules[0].when.entities[2]: unknown entity '' (expected an entity type such as KR_RRN or a group: all, secrets, personal, national_ids, contact, financial, network)",
            "9:rules[1]: rule 'a' has no effect (give at least one of action, destinations, exclude_destinations, local, capture_payloads)",
            "9:rules[1].id: duplicate rule id 'a' (first used at rules[0])",
            "10:rules[1].when.models: empty list (it would never match)",
            "12:rules[2].destinations: expected a list, found 'cn'",
            "13:rules[3].id: missing required field 'id'",
            "14:retention.payload_days: payloads (60 days) cannot outlive their audit records (30 days)",
            "15:limits.requests_per_minute: 0 is out of range 1...1000000000000",
            "15:limits.tokens_per_day: expected a whole number, found 'lots'",
        ])
        #expect(error?.problems.allSatisfy { $0.file == "bad.yaml" && $0.column != nil } == true)
    }

    @Test func missingRequiredFieldsAndWrongShapes() throws {
        let error = #expect(throws: PolicyValidationError.self) { try Policy(yaml: "description: no header\n", file: "x.yaml") }
        #expect(error?.brief == ["1:apiVersion: missing required field 'apiVersion'", "1:name: missing required field 'name'"])
        #expect(error?.problems.allSatisfy { $0.code == .missingField } == true)

        let list = #expect(throws: PolicyValidationError.self) { try Policy(yaml: "- a\n- b\n") }
        #expect(list?.brief == ["1:: expected a mapping, found a list"])

        let types = #expect(throws: PolicyValidationError.self) {
            try Fixture.policy("retention: { capture_payloads: maybe, audit_days: 1.5 }\nrules: { id: x }\n")
        }
        #expect(types?.problems.map(\.code) == [.wrongType, .wrongType, .wrongType])
        #expect(types?.brief.first == "3:retention.capture_payloads: expected true or false, found 'maybe'")
    }

    @Test func quotedNumbersAndBooleansAreNotAccepted() throws {
        let error = #expect(throws: PolicyValidationError.self) {
            try Fixture.policy("retention: { audit_days: \"30\", fail_closed: \"true\" }\n")
        }
        #expect(error?.problems.map(\.code) == [.wrongType, .wrongType])
    }

    @Test func capturingPayloadsForZeroDaysIsRejected() throws {
        let error = #expect(throws: PolicyValidationError.self) {
            try Fixture.policy("retention: { audit_days: 30, payload_days: 0, capture_payloads: true }\n")
        }
        #expect(error?.brief == ["3:retention.capture_payloads: payloads are captured but payload_days is 0 (set payload_days, or capture_payloads: false)"])
    }

    @Test func syntaxErrorsCarryTheParserMark() throws {
        let error = #expect(throws: PolicyValidationError.self) { try Policy(yaml: "name: x\n  bad: [\n", file: "s.yaml") }
        let p = try #require(error?.problems.first)
        #expect(p.code == .syntax && p.line == 2 && p.file == "s.yaml")
        #expect(p.message.hasPrefix("invalid YAML"))
        let empty = #expect(throws: PolicyValidationError.self) { try Policy(yaml: "") }
        #expect(empty?.problems.first?.message == "empty document")
    }

    @Test func duplicateKeysAreReported() throws {
        let error = #expect(throws: PolicyValidationError.self) { try Fixture.policy("mode: shadow\nmode: enforce\n") }
        #expect(error?.brief == ["4:mode: duplicate key 'mode'"])
    }

    @Test func destinationAndExclusionPatterns() throws {
        for good in ["*", "kr", "eu-*", "us-east", "us-east-1", "local"] {
            #expect(throws: Never.self) { try Fixture.policy("defaults: { destinations: [\"\(good)\"] }\n") }
        }
        for bad in ["KR", "korea", "k", "us-", "-*", "us-east-*", "*-kr", "eu_west"] {
            #expect(throws: PolicyValidationError.self) { try Fixture.policy("defaults: { destinations: [\"\(bad)\"] }\n") }
        }
        for bad in ["*", "local"] {
            #expect(throws: PolicyValidationError.self) { try Fixture.policy("defaults: { exclude_destinations: [\"\(bad)\"] }\n") }
        }
    }

    @Test func fileLoadingReportsUnreadableFiles() throws {
        let error = #expect(throws: PolicyValidationError.self) { try Policy.load(contentsOf: "/nonexistent/policy.yaml") }
        #expect(error?.description == "/nonexistent/policy.yaml: cannot read file")
    }

    @Test func documentKindIsDetected() throws {
        guard case .providers(let c) = try PolicyFile.parse(yaml: "apiVersion: airlock/v1\nkind: Providers\nproviders: []\n") else {
            Issue.record("expected providers"); return
        }
        #expect(c.providers.isEmpty)
        guard case .policy(let p) = try PolicyFile.parse(yaml: "apiVersion: airlock/v1\nname: p\n") else {
            Issue.record("expected a policy"); return
        }
        #expect(p.name == "p")
        #expect(throws: PolicyValidationError.self) { try PolicyFile.parse(yaml: "apiVersion: airlock/v1\nkind: Tenant\nname: p\n") }
    }

    @Test func suggestionsUseEditDistance() {
        #expect(YAMLReader.editDistance("kitten", "sitting") == 3)
        #expect(YAMLReader.suggestion(for: "pseudonymise", among: PolicyAction.allCases.map(\.rawValue)) == "pseudonymize")
        #expect(YAMLReader.suggestion(for: "zzzz", among: ["allow"]) == nil)
    }

    @Test func policyEncodesAsJSONWithSchemaKeys() throws {
        let p = try Fixture.policy("defaults: { min_score: 0.5 }\nrules:\n  - { id: a, when: { entities: [secrets] }, action: block }\n")
        let data = try JSONEncoder().encode(p)
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.contains("\"min_score\":0.5"))
        #expect(text.contains("\"entities\":[\"secrets\"]"))
        #expect(try JSONDecoder().decode(Policy.self, from: data) == p)
    }
}
