import AirlockCore

/// `airlock bench policy`: times `PolicyEvaluator.evaluate` and `RoutePlanner.plan` on a
/// representative policy (9 rules) and request (12 findings). Build with `-c release`.
public enum PolicyBenchmark {
    /// Runs the benchmark and returns `{"benchmark":"policy", "ns_per_decision":…, …}`.
    public static func run(iterations: Int = 200_000) -> JSONValue {
        let policy = try! Policy(yaml: benchmarkPolicy, file: "benchmark.yaml")  // a fixed, valid document
        let evaluator = PolicyEvaluator(policy, version: 1)
        let planner = RoutePlanner(catalog: try! ProviderCatalog(yaml: benchmarkProviders, file: "benchmark-providers.yaml"))
        let findings = benchmarkFindings
        let requests = [
            RequestContext(tenant: "acme", model: "gpt-4o", classification: "internal", callerRegion: Region("kr")),
            RequestContext(tenant: "acme", model: "deepseek-reasoner", classification: "confidential", callerRegion: Region("eu-west")),
            RequestContext(tenant: "globex", model: "o1", classification: nil, callerRegion: Region("us-east")),
        ]
        let iterations = max(iterations, 1)
        let clock = ContinuousClock()
        var checksum = 0

        for i in 0..<min(iterations, 10_000) {  // warm up caches and branch predictors
            checksum &+= evaluator.evaluate(findings: findings, request: requests[i % 3]).firedRuleIDs.count
        }
        let evalStart = clock.now
        for i in 0..<iterations {
            let d = evaluator.evaluate(findings: findings, request: requests[i % 3])
            checksum &+= d.firedRuleIDs.count &+ d.findings.count
        }
        let evalElapsed = clock.now - evalStart

        let decisions = requests.map { evaluator.evaluate(findings: findings, request: $0) }
        let planIterations = max(iterations / 4, 1)
        let planStart = clock.now
        for i in 0..<planIterations {
            let r = requests[i % 3]
            checksum &+= planner.plan(decision: decisions[i % 3], model: r.model, seed: UInt64(i)).candidates.count
        }
        let planElapsed = clock.now - planStart

        return .object([
            "benchmark": "policy",
            "rules": .int(policy.rules.count),
            "findings": .int(findings.count),
            "iterations": .int(iterations),
            "ns_per_decision": .double(nanoseconds(evalElapsed) / Double(iterations)),
            "ns_per_route_plan": .double(nanoseconds(planElapsed) / Double(planIterations)),
            "checksum": .int(checksum),
        ])
    }

    private static func nanoseconds(_ d: Duration) -> Double {
        let c = d.components
        return (Double(c.seconds) * 1e9 + Double(c.attoseconds) / 1e9).rounded()
    }

    static let benchmarkFindings: [Finding] = [
        Finding(type: .emailAddress, start: 10, end: 30, score: 0.95),
        Finding(type: .phoneNumber, start: 40, end: 53, score: 0.8),
        Finding(type: .person, start: 60, end: 70, score: 0.6),
        Finding(type: .krRRN, start: 80, end: 94, score: 0.99),
        Finding(type: .creditCard, start: 100, end: 119, score: 0.97),
        Finding(type: .ipAddress, start: 130, end: 141, score: 0.7),
        Finding(type: .location, start: 150, end: 160, score: 0.4),
        Finding(type: .url, start: 170, end: 190, score: 0.5),
        Finding(type: .ibanCode, start: 200, end: 222, score: 0.99),
        Finding(type: .dateOfBirth, start: 230, end: 240, score: 0.75),
        Finding(type: .emailAddress, start: 250, end: 270, score: 0.95),
        Finding(type: .streetAddress, start: 280, end: 310, score: 0.65),
    ]

    static let benchmarkPolicy = """
        apiVersion: airlock/v1
        name: benchmark
        defaults: { action: mask, destinations: ["*"], local: allowed, min_score: 0.3 }
        rules:
          - id: kr-national-ids
            when: { entities: [KR_RRN, KR_FRN, KR_PASSPORT] }
            action: pseudonymize
            destinations: [kr, local]
          - id: secrets
            when: { entities: [secrets] }
            action: block
          - id: payment
            when: { entities: [financial], min_score: 0.9 }
            action: redact
          - id: contact
            when: { entities: [contact] }
            action: pseudonymize
          - id: network
            when: { entities: [network] }
            action: hash
          - id: no-personal-data-to-cn
            when: { entities: [personal] }
            destinations: [kr, us, eu-*, jp]
          - id: confidential-local
            when: { classification: [confidential, restricted] }
            local: preferred
            capture_payloads: false
          - id: eu-callers
            when: { caller_regions: [eu-*], entities: [personal] }
            destinations: [eu-*]
          - id: reasoning-models
            when: { models: ["o1*", "o3*", "deepseek-reasoner"] }
            action: redact
        retention: { audit_days: 365, payload_days: 30, capture_payloads: true, fail_closed: false }
        limits: { requests_per_minute: 600, tokens_per_day: 2000000 }
        """

    static let benchmarkProviders = """
        apiVersion: airlock/v1
        kind: Providers
        providers:
          - { name: openai-us, kind: openai, base_url: "https://api.openai.com/v1", region: us, models: [gpt-4o, o1], priority: 10, weight: 3 }
          - { name: openai-eu, kind: openai, base_url: "https://eu.api.openai.com/v1", region: eu-west, models: [gpt-4o, o1], priority: 10, weight: 1 }
          - { name: deepseek, kind: deepseek, base_url: "https://api.deepseek.com/v1", region: cn, models: [deepseek-reasoner] }
          - { name: naver-kr, kind: openai, base_url: "https://kr.example.com/v1", region: kr-seoul, models: [gpt-4o, deepseek-reasoner], priority: 20 }
          - { name: engine, kind: local, models: [smollm2-135m] }
        """
}
