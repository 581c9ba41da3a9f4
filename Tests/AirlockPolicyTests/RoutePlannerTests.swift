import AirlockCore
import Testing

@testable import AirlockPolicy

@Suite("Route planning by region, health, priority and weight")
struct RoutePlannerTests {
    static func provider(_ name: String, _ region: String, models: [String] = ["m"], priority: Int = 100, weight: Int = 1,
                         enabled: Bool = true) -> ProviderConfig {
        ProviderConfig(name: name, kind: .openai, baseURL: "https://\(name).example.com/v1", region: Region(region),
                       models: models.map { ProviderModel(name: $0) }, priority: priority, weight: weight, enabled: enabled)
    }

    static let engine = ProviderConfig(name: "engine", kind: .local, region: .local, models: [ProviderModel(name: "tiny")])

    static func decision(destinations: [String] = ["*"], local: LocalUse = .allowed, residency: [String] = ["r"],
                         excluded: [String] = []) -> Decision {
        Decision(policyName: "t", destinations: RegionSet(destinations), excludedDestinations: RegionSet(excluded), local: local,
                 residencyRuleIDs: residency)
    }

    let planner = RoutePlanner(providers: [
        provider("us-a", "us-east", priority: 10),
        provider("kr-a", "kr-seoul", priority: 20),
        provider("eu-a", "eu-west", priority: 10),
        provider("cn-a", "cn", priority: 5),
        provider("off", "kr", priority: 1, enabled: false),
        engine,
    ])

    @Test func ordersPermittedProvidersByPriorityThenWeightThenName() {
        let plan = planner.plan(decision: Self.decision(), model: "m")
        #expect(plan.candidates.map(\.provider) == ["cn-a", "eu-a", "us-a", "kr-a", "engine"])
        #expect(plan.candidates.last?.isLocal == true && plan.candidates.last?.model == "tiny")
    }

    @Test func neverProducesANonPermittedCandidate() {
        for destinations in [["kr"], ["eu-*"], ["us-east", "kr"], ["*"], []] {
            for local in LocalUse.allCases {
                let d = Self.decision(destinations: destinations, local: local, excluded: ["cn"])
                for c in planner.plan(decision: d, model: "m").candidates {
                    #expect(d.permits(c.region), "\(c) under \(destinations) / \(local)")
                }
            }
        }
    }

    @Test func localUseShapesTheList() {
        #expect(planner.plan(decision: Self.decision(destinations: ["kr"], local: .allowed), model: "m").candidates.map(\.provider) == ["kr-a", "engine"])
        #expect(planner.plan(decision: Self.decision(destinations: ["kr"], local: .preferred), model: "m").candidates.map(\.provider) == ["engine", "kr-a"])
        #expect(planner.plan(decision: Self.decision(destinations: [], local: .required), model: "m").candidates.map(\.provider) == ["engine"])
        #expect(planner.plan(decision: Self.decision(destinations: ["kr"], local: .forbidden), model: "m").candidates.map(\.provider) == ["kr-a"])
    }

    @Test func healthOrdersAndExcludes() {
        let plan = planner.plan(decision: Self.decision(), model: "m", health: ["cn-a": .degraded, "eu-a": .unavailable])
        #expect(plan.candidates.map(\.provider) == ["us-a", "kr-a", "cn-a", "engine"])
        #expect(plan.candidates[2].health == .degraded)
    }

    @Test func residencyViolationNamesTheRules() throws {
        let d = Self.decision(destinations: ["jp"], local: .forbidden, residency: ["jp-only", "no-engine"])
        let refusal = try #require(planner.plan(decision: d, model: "m").refusal)
        #expect(refusal.reason == .residency && refusal.ruleIDs == ["jp-only", "no-engine"])
        #expect(refusal.message == "no permitted destination for model 'm': policy rules 'jp-only', 'no-engine' permits only jp and the local engine is not permitted")
        #expect(refusal.airlockError.httpStatus == 451 && refusal.airlockError.code == .residencyViolation)
    }

    @Test func permittedProvidersDownWithOthersUpIsAResidencyViolation() throws {
        let d = Self.decision(destinations: ["kr"], local: .forbidden, residency: ["kr-only"])
        let refusal = try #require(planner.plan(decision: d, model: "m", health: ["kr-a": .unavailable]).refusal)
        #expect(refusal.reason == .residency && refusal.ruleIDs == ["kr-only"])
        // …unless nothing else works either: then it is an upstream failure, not the policy.
        let all: [String: ProviderHealth] = ["kr-a": .unavailable, "us-a": .unavailable, "eu-a": .unavailable, "cn-a": .unavailable]
        let down = try #require(planner.plan(decision: d, model: "m", health: all).refusal)
        #expect(down.reason == .noHealthyProvider && down.airlockError.httpStatus == 502)
    }

    @Test func requiredLocalWithoutEngine() throws {
        let noEngine = RoutePlanner(providers: [Self.provider("us-a", "us")])
        let refusal = try #require(noEngine.plan(decision: Self.decision(destinations: [], local: .required, residency: ["local"]), model: "m").refusal)
        #expect(refusal.reason == .residency && refusal.message.hasSuffix("permits no remote region and no local engine is available"))
    }

    @Test func unknownModels() throws {
        let refusal = try #require(planner.plan(decision: Self.decision(), model: "gpt-9").refusal)
        #expect(refusal.reason == .modelNotFound && refusal.airlockError.httpStatus == 404 && refusal.airlockError.param == "model")
        // A policy that sends everything to the engine answers any name with the engine's model.
        #expect(planner.plan(decision: Self.decision(destinations: [], local: .required), model: "gpt-9").candidates.map(\.model) == ["tiny"])
    }

    @Test func blockedDecisionsAreRefusedWith403() throws {
        var d = Self.decision()
        d.blockedBy = ["keys"]
        let refusal = try #require(planner.plan(decision: d, model: "m").refusal)
        #expect(refusal.reason == .blocked && refusal.airlockError.httpStatus == 403 && refusal.message == "request blocked by policy rule 'keys'")
    }

    @Test func aliasesResolveToUpstreamNamesAndDeployments() {
        let azure = ProviderConfig(name: "az", kind: .azureOpenAI, baseURL: "https://az.example.com", region: Region("eu-west"),
                                   models: [ProviderModel(name: "o1", aliases: ["reasoner"], deployment: "o1-prod")], apiVersion: "2024-10-21")
        let plan = RoutePlanner(providers: [azure]).plan(decision: Self.decision(), model: "reasoner")
        #expect(plan.candidates == [RouteCandidate(provider: "az", kind: .azureOpenAI, region: Region("eu-west"), model: "o1", deployment: "o1-prod")])
    }

    @Test func weightsSpreadEqualPrioritiesDeterministically() {
        let weighted = RoutePlanner(providers: [Self.provider("heavy", "us", weight: 3), Self.provider("light", "us", weight: 1)])
        #expect(weighted.plan(decision: Self.decision(), model: "m").candidates.map(\.provider) == ["heavy", "light"])
        var firsts: [String: Int] = [:]
        for seed in 0..<4_000 as Range<UInt64> {
            let plan = weighted.plan(decision: Self.decision(), model: "m", seed: seed)
            #expect(plan == weighted.plan(decision: Self.decision(), model: "m", seed: seed))
            firsts[plan.candidates[0].provider, default: 0] += 1
        }
        let share = Double(firsts["heavy"] ?? 0) / 4_000
        #expect(share > 0.70 && share < 0.80, "heavy first in \(share) of plans, expected ~0.75")
    }

    @Test func planRendering() throws {
        let plan = planner.plan(decision: Self.decision(destinations: ["kr"]), model: "m")
        #expect(plan.jsonValue["candidates"]?.arrayValue?.first?["region"] == "kr-seoul")
        #expect(plan.explanation == "route:\n  1. kr-a (openai, kr-seoul) model m\n  2. engine (local, local) model tiny")
        let refused = planner.plan(decision: Self.decision(), model: "nope")
        #expect(refused.jsonValue["refused"]?["status"] == 404)
    }
}
