import AirlockCore
import Foundation
import Testing

@testable import AirlockPolicy

/// Every file in Policies/ loads, and each shipped policy decides as its README row says,
/// checked for every entity type alone and with the shipped providers.
@Suite("Shipped policies")
struct ShippedPoliciesTests {
    typealias F = Fixture

    static let policyFiles = ["default.yaml", "kr-pipa.yaml", "eu-gdpr.yaml", "no-personal-data-to-cn.yaml", "local-only.yaml", "secrets.yaml"]

    @Test func everyYAMLFileInPoliciesValidates() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: F.policiesFolder.path).filter { $0.hasSuffix(".yaml") }.sorted()
        #expect(Set(names) == Set(Self.policyFiles + ["providers.yaml"]))
        for name in names {
            let document = try PolicyFile.load(contentsOf: F.policiesFolder.appendingPathComponent(name).path)
            switch document {
            case .policy(let p): #expect(p.name + ".yaml" == name)
            case .providers(let c): #expect(name == "providers.yaml" && c.providers.count == 5)
            }
        }
    }

    @Test(arguments: policyFiles)
    func credentialsNeverLeave(file: String) throws {
        let p = try F.shipped(file)
        for type in EntityType.allCases where type.isSecret {
            let d = F.decide(p, [F.finding(type, score: 0.9)])
            if p.name == "local-only" {
                #expect(d.findings[0].action == .redact && d.local == .required && d.destinations.isEmpty)
            } else {
                #expect(d.isBlocked, "\(file) lets \(type) through")
            }
        }
    }

    @Test(arguments: policyFiles)
    func aRequestWithoutFindingsIsNotRestricted(file: String) throws {
        let p = try F.shipped(file)
        let d = F.decide(p, [])
        #expect(!d.isBlocked)
        #expect(d.findings.isEmpty)
        if p.name == "local-only" {
            #expect(d.local == .required && d.destinations.isEmpty)
        } else {
            #expect(d.destinations == .all && d.excludedDestinations.isEmpty && d.local == .allowed)
        }
    }

    @Test func defaultPolicy() throws {
        let p = try F.shipped("default.yaml")
        for type in EntityType.allCases {
            let action = F.decide(p, [F.finding(type, score: 0.8)]).findings[0].action
            let expected: PolicyAction = type.isSecret ? .block
                : EntityGroup.nationalIDs.members.union(EntityGroup.financial.members).union([.emailAddress, .phoneNumber]).contains(type)
                ? .pseudonymize : .allow
            #expect(action == expected, "\(type)")
        }
        #expect(F.decide(p, [F.finding(.emailAddress, score: 0.6)]).findings[0].action == .allow)  // below the rule's 0.7
        #expect(F.decide(p, [F.finding(.awsAccessKey, score: 0.4)]).findings[0].ignored)  // below defaults.min_score
        #expect(p.limits == RateLimits(requestsPerMinute: 600, tokensPerDay: 2_000_000))
    }

    @Test func krPIPA() throws {
        let p = try F.shipped("kr-pipa.yaml")
        let ids: Set<EntityType> = [.krRRN, .krFRN, .krPassport, .krDriverLicense]
        for type in EntityType.allCases where !type.isSecret {
            let d = F.decide(p, [F.finding(type)])
            if ids.contains(type) {
                #expect(d.findings[0].action == .pseudonymize)
                #expect(d.destinations.patterns == ["kr"] && d.permitsLocal, "\(type)")
                #expect(d.residencyRuleIDs == ["kr-national-ids-stay-home"])
                #expect(!d.permits(Region("us")) && !d.permits(Region("cn")) && d.permits(Region("kr-seoul")))
            } else {
                #expect(d.destinations == .all, "\(type)")
            }
        }
        let sensitive = F.decide(p, [F.finding(.person)], F.request(classification: "sensitive"))
        #expect(sensitive.local == .required && sensitive.destinations.isEmpty && !sensitive.retention.capturePayloads)
        #expect(p.retention.failClosed && p.retention.auditDays == 730)
    }

    @Test func euGDPR() throws {
        let p = try F.shipped("eu-gdpr.yaml")
        for type in EntityType.allCases where !type.isSecret {
            let d = F.decide(p, [F.finding(type)])
            #expect(d.destinations.patterns == ["eu"], "\(type)")
            #expect(d.permits(Region("eu-west")) && d.permits(.local) && !d.permits(Region("us-east")))
            let expected: PolicyAction = [.ipAddress, .macAddress].contains(type) ? .hash
                : EntityGroup.financial.members.contains(type) ? .redact : .pseudonymize
            #expect(d.findings[0].action == expected, "\(type)")
        }
        #expect(!p.retention.keepsPayloads)
        #expect(F.decide(p, [], F.request(classification: "restricted")).local == .required)
    }

    @Test func noPersonalDataToCN() throws {
        let p = try F.shipped("no-personal-data-to-cn.yaml")
        for type in EntityType.allCases where !type.isSecret {
            let d = F.decide(p, [F.finding(type)])
            #expect(!d.permits(Region("cn")) && d.permits(Region("us")) && d.permits(Region("kr")) && d.permits(.local), "\(type)")
            #expect(d.findings[0].action == (type == .cnResidentID ? .pseudonymize : .allow))
        }
    }

    @Test func localOnly() throws {
        let p = try F.shipped("local-only.yaml")
        let plan = RoutePlanner(catalog: try F.providers()).plan(decision: F.decide(p, [F.finding(.person)]), model: "o1")
        #expect(plan.candidates.map(\.provider) == ["engine"])
        #expect(plan.candidates.first?.model == "smollm2-135m-instruct")
        #expect(p.retention.failClosed && !p.retention.capturePayloads)
    }

    @Test func secretsPolicyBlocksEvenWeakMatches() throws {
        let p = try F.shipped("secrets.yaml")
        let d = F.decide(p, [F.finding(.privateKey, score: 0.35), F.finding(.emailAddress, at: 1)])
        #expect(d.blockedBy == ["block-any-credential"])
        #expect(d.findings.map(\.action) == [.block, .allow])
        #expect(!F.decide(p, [F.finding(.githubToken, score: 0.2)]).isBlocked)
    }

    @Test func shippedPricesArePublishedOnes() throws {
        let c = try F.providers()
        #expect(c["deepseek"]?.model(serving: "deepseek-r1")?.price == TokenPrice(cachedInput: 0.14, input: 0.55, output: 2.19))
        #expect(c["openai"]?.model(serving: "o1")?.price == TokenPrice(cachedInput: 7.50, input: 15.00, output: 60.00))
        #expect(c["openai"]?.model(serving: "o3-mini")?.price?.output == 4.40)
        #expect(c.providers.allSatisfy { $0.isLocal || $0.secretEnv?.hasSuffix("_API_KEY") == true })
    }

    /// The residency scenarios of issue #4 end to end: shipped policy → decision → route.
    @Test func residencyRoutingWithShippedProviders() throws {
        let planner = RoutePlanner(catalog: try F.providers())
        let kr = try F.shipped("kr-pipa.yaml")
        let rrn = F.decide(kr, [F.finding(.krRRN)])
        #expect(planner.plan(decision: rrn, model: "deepseek-r1").candidates.map(\.headerValue) == ["kr-cloud/kr-seoul", "engine/local"])
        // The kr provider is down: the engine, never the cn or us provider.
        #expect(planner.plan(decision: rrn, model: "deepseek-r1", health: ["kr-cloud": .unavailable]).candidates.map(\.provider) == ["engine"])

        let cn = try F.shipped("no-personal-data-to-cn.yaml")
        let person = F.decide(cn, [F.finding(.person)])
        #expect(planner.plan(decision: person, model: "deepseek-reasoner").candidates.map(\.provider) == ["kr-cloud", "engine"])
        let clean = F.decide(cn, [])
        #expect(planner.plan(decision: clean, model: "deepseek-reasoner").candidates.map(\.provider) == ["deepseek", "kr-cloud", "engine"])

        let eu = try F.shipped("eu-gdpr.yaml")
        let plan = planner.plan(decision: F.decide(eu, [F.finding(.emailAddress)]), model: "o1")
        #expect(plan.candidates.map(\.provider) == ["azure-eu", "engine"])
        #expect(plan.candidates.first?.deployment == "o1-eu")
    }
}
