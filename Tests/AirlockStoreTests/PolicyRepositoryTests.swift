import AirlockPolicy
import AirlockStore
import Foundation
import Testing

@Suite(.enabled(if: TestDatabase.isConfigured, TestDatabase.skipReason))
struct PolicyRepositoryTests {
    @Test func applyStoresVersionsAndMovesTheActivePointer() async throws {
        try await TestDatabase.withFreshDatabase { store, _ in
            try await store.tenants.create(id: "acme", name: "Acme")
            #expect(try await store.policies.active(tenant: "acme") == nil)

            let first = try await store.policies.apply(tenant: "acme", yaml: TestPolicies.allowAll(), appliedBy: "alice")
            #expect(first.outcome == .applied && first.version.version == 1)
            let second = try await store.policies.apply(tenant: "acme", yaml: TestPolicies.blockSecrets, appliedBy: "bob")
            #expect(second.outcome == .applied && second.version.version == 2)
            #expect(second.version.sha256 == PolicyVersion.sha256(of: TestPolicies.blockSecrets))

            let active = try #require(try await store.policies.active(tenant: "acme"))
            #expect(active.version == 2 && active.name == "block-secrets" && active.appliedBy == "bob")
            #expect(try await store.tenants.get("acme")?.activePolicyVersion == 2)

            let history = try await store.policies.list(tenant: "acme")
            #expect(history.map(\.version) == [1, 2])
            #expect(history.map(\.isActive) == [false, true])
            #expect(history[0].content == TestPolicies.allowAll())
        }
    }

    @Test func identicalApplyIsANoOp() async throws {
        try await TestDatabase.withFreshDatabase { store, _ in
            try await store.tenants.create(id: "acme", name: "Acme")
            _ = try await store.policies.apply(tenant: "acme", yaml: TestPolicies.blockSecrets, appliedBy: "alice")
            let again = try await store.policies.apply(tenant: "acme", yaml: TestPolicies.blockSecrets, appliedBy: "bob")
            #expect(again.outcome == .unchanged)
            #expect(again.version.version == 1 && again.version.appliedBy == "alice")
            #expect(try await store.policies.list(tenant: "acme").count == 1)
        }
    }

    @Test func rollbackMovesThePointerBack() async throws {
        try await TestDatabase.withFreshDatabase { store, _ in
            try await store.tenants.create(id: "acme", name: "Acme")
            _ = try await store.policies.apply(tenant: "acme", yaml: TestPolicies.allowAll(), appliedBy: "alice")
            _ = try await store.policies.apply(tenant: "acme", yaml: TestPolicies.blockSecrets, appliedBy: "alice")

            let rolled = try await store.policies.rollback(tenant: "acme", to: 1)
            #expect(rolled.outcome == .rolledBack && rolled.previousVersion == 2 && rolled.version.version == 1)
            #expect(try await store.policies.active(tenant: "acme")?.version == 1)
            #expect(try await store.policies.list(tenant: "acme").map(\.isActive) == [true, false])
            #expect(try await store.policies.rollback(tenant: "acme", to: 1).outcome == .unchanged)

            // Applying after a rollback makes a new version; applying version 1's content
            // while it is active changes nothing.
            #expect(try await store.policies.apply(tenant: "acme", yaml: TestPolicies.allowAll(), appliedBy: "x").outcome == .unchanged)
            let third = try await store.policies.apply(tenant: "acme", yaml: TestPolicies.blockSecrets, appliedBy: "x")
            #expect(third.version.version == 3)

            let missing = await #expect(throws: GovernanceError.self) { try await store.policies.rollback(tenant: "acme", to: 9) }
            #expect(missing?.code == .policyVersionNotFound)
        }
    }

    @Test func invalidPolicyIsRejectedWithFileLineProblems() async throws {
        try await TestDatabase.withFreshDatabase { store, _ in
            try await store.tenants.create(id: "acme", name: "Acme")
            let error = await #expect(throws: GovernanceError.self) {
                try await store.policies.apply(tenant: "acme", yaml: TestPolicies.invalid, appliedBy: "alice", source: "broken.yaml")
            }
            #expect(error?.code == .invalidDocument)
            let problem = try #require(error?.problems.first)
            #expect(problem.description.hasPrefix("broken.yaml:7:"))
            #expect(problem.path == "rules[0].action")
            #expect(try await store.policies.list(tenant: "acme").isEmpty)
        }
    }

    @Test func unknownTenantIsRefused() async throws {
        try await TestDatabase.withFreshDatabase { store, _ in
            let error = await #expect(throws: GovernanceError.self) {
                try await store.policies.apply(tenant: "ghost", yaml: TestPolicies.allowAll(), appliedBy: "alice")
            }
            #expect(error?.code == .tenantNotFound)
            let list = await #expect(throws: GovernanceError.self) { try await store.policies.list(tenant: "ghost") }
            #expect(list?.code == .tenantNotFound)
        }
    }

    @Test func diffBetweenVersions() async throws {
        try await TestDatabase.withFreshDatabase { store, _ in
            try await store.tenants.create(id: "acme", name: "Acme")
            _ = try await store.policies.apply(tenant: "acme", yaml: TestPolicies.allowAll(comment: "v1"), appliedBy: "a")
            _ = try await store.policies.apply(tenant: "acme", yaml: TestPolicies.allowAll(comment: "v2"), appliedBy: "a")
            let diff = try await store.policies.diff(tenant: "acme", from: 1, to: 2)
            #expect(diff.added == 1 && diff.removed == 1)
            #expect(diff.unified().contains("-# v1\n+# v2"))
            #expect(try await store.policies.diff(tenant: "acme", from: 2, to: 2).hasChanges == false)
        }
    }

    @Test func concurrentAppliesGetDistinctVersions() async throws {
        try await TestDatabase.withFreshDatabase { store, _ in
            try await store.tenants.create(id: "acme", name: "Acme")
            try await withThrowingTaskGroup(of: Void.self) { group in
                for i in 0..<6 {
                    group.addTask { _ = try await store.policies.apply(tenant: "acme", yaml: TestPolicies.allowAll(comment: "\(i)"), appliedBy: "t") }
                }
                try await group.waitForAll()
            }
            let history = try await store.policies.list(tenant: "acme")
            #expect(history.map(\.version) == Array(1...6))
            #expect(history.filter(\.isActive).count == 1)
        }
    }

    @Test func shippedPoliciesApply() async throws {
        try await TestDatabase.withFreshDatabase { store, _ in
            try await store.tenants.create(id: "acme", name: "Acme")
            for file in ["default", "kr-pipa", "eu-gdpr", "local-only"] {
                let path = TestDatabase.policiesDirectory + "/\(file).yaml"
                let yaml = try String(contentsOfFile: path, encoding: .utf8)
                let result = try await store.policies.apply(tenant: "acme", yaml: yaml, appliedBy: "ci", source: path)
                #expect(result.version.name == file)
            }
            #expect(try await store.policies.active(tenant: "acme")?.version == 4)
        }
    }
}
