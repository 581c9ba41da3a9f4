import AirlockCore
import AirlockPolicy
import Foundation

/// Shared fixtures for the policy tests.
enum Fixture {
    /// The repository's Policies/ folder, found from this file's path.
    static let policiesFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Policies")

    static func shipped(_ name: String) throws -> Policy {
        try Policy.load(contentsOf: policiesFolder.appendingPathComponent(name).path)
    }

    static func providers() throws -> ProviderCatalog {
        try ProviderCatalog.load(contentsOf: policiesFolder.appendingPathComponent("providers.yaml").path)
    }

    static func finding(_ type: EntityType, score: Double = 0.9, at index: Int = 0) -> Finding {
        Finding(type: type, start: index * 10, end: index * 10 + 5, score: score)
    }

    static func request(model: String = "gpt-4o", tenant: String = "acme", classification: String? = nil,
                        caller: String? = nil) -> RequestContext {
        RequestContext(tenant: tenant, model: model, classification: classification, callerRegion: caller.map { Region($0) })
    }

    /// A policy from YAML lines after the header (`apiVersion`, `name: test`).
    static func policy(_ body: String) throws -> Policy {
        try Policy(yaml: "apiVersion: airlock/v1\nname: test\n" + body, file: "test.yaml")
    }

    static func decide(_ policy: Policy, _ findings: [Finding], _ request: RequestContext = request()) -> Decision {
        PolicyEvaluator(policy).evaluate(findings: findings, request: request)
    }
}

extension PolicyValidationError {
    /// `line:path: message` lines, for compact assertions.
    var brief: [String] { problems.map { "\($0.line ?? 0):\($0.path): \($0.message)" } }
}
