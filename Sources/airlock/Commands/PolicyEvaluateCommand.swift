import AirlockCore
import AirlockPolicy
import ArgumentParser

/// `airlock policy evaluate`: offline evaluation of a policy file for given entity types and
/// request metadata, printing the decision, fired rules and route, calling no provider and
/// scanning no text (`airlock policy explain` does that with the scanner).
struct PolicyEvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Evaluate a policy file for some findings and print the decision and route, offline."
    )

    @Option(name: .long, help: "Policy YAML file.")
    var policy: String

    @Option(name: .long, help: "Providers YAML file; prints the route plan when given.")
    var providers: String?

    @Option(name: .customLong("finding"), help: "An entity type, optionally with a score: KR_RRN or EMAIL_ADDRESS:0.6 (repeatable).")
    var findings: [String] = []

    @Option(help: "Requested model.")
    var model = "gpt-4o"

    @Option(help: "Tenant id.")
    var tenant = "default"

    @Option(help: "Declared data classification (x-airlock-classification).")
    var classification: String?

    @Option(name: .customLong("caller-region"), help: "Caller region, e.g. kr or eu-west.")
    var callerRegion: String?

    @Option(help: "Provider health overrides: name=healthy|degraded|unavailable (repeatable).")
    var health: [String] = []

    @Flag(help: "Print JSON.")
    var json = false

    func run() throws {
        let found = try findings.enumerated().map { i, spec in
            let parts = spec.split(separator: ":", maxSplits: 1).map(String.init)
            guard let type = EntityType(rawValue: parts[0]) else { throw ValidationError("unknown entity type '\(parts[0])'") }
            let score = parts.count > 1 ? Double(parts[1]) : 1.0
            guard let score, (0...1).contains(score) else { throw ValidationError("invalid score in '\(spec)'") }
            return Finding(type: type, start: i * 10, end: i * 10 + 8, score: score)
        }
        var healthByName: [String: ProviderHealth] = [:]
        for item in health {
            let parts = item.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, let h = ProviderHealth(rawValue: parts[1]) else { throw ValidationError("invalid --health '\(item)'") }
            healthByName[parts[0]] = h
        }
        let loaded: Policy
        var plan: RoutePlan?
        do {
            loaded = try Policy.load(contentsOf: policy)
            let request = RequestContext(tenant: tenant, model: model, classification: classification,
                                         callerRegion: callerRegion.map { Region($0) })
            let decision = PolicyEvaluator(loaded).evaluate(findings: found, request: request)
            if let providers {
                plan = RoutePlanner(catalog: try ProviderCatalog.load(contentsOf: providers))
                    .plan(decision: decision, model: model, health: healthByName)
            }
            if json {
                var out: JSONObject = ["decision": decision.jsonValue(findings: found)]
                if let plan { out["route"] = plan.jsonValue }
                print(JSONValue.object(out).serialized)
            } else {
                print(decision.explanation(findings: found))
                if let plan { print(plan.explanation) }
            }
        } catch {
            throw ValidationError(error.description)
        }
    }
}
