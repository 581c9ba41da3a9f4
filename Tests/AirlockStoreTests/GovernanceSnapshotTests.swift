import AirlockCore
import AirlockPolicy
import AirlockStore
import Testing

struct GovernanceSnapshotUnitTests {
    @Test func keyOfAMissingTenantIsTreatedAsDisabled() {
        let hash = APIKeyHash(presentedKey: "ak_live_orphan")
        let snapshot = GovernanceSnapshot(keys: [hash: .init(keyID: "key_1", tenantID: "gone", revoked: false)])
        #expect(snapshot.authenticate(presentedKey: "ak_live_orphan")?.isUsable == false)
        #expect(snapshot.authenticate(presentedKey: "ak_live_other") == nil)
    }
}

@Suite(.enabled(if: TestDatabase.isConfigured, TestDatabase.skipReason))
struct GovernanceSnapshotTests {
    @Test func snapshotHoldsKeysTenantsPoliciesAndProviders() async throws {
        try await TestDatabase.withFreshDatabase { store, _ in
            try await store.tenants.create(id: "acme", name: "Acme")
            try await store.tenants.create(id: "beta", name: "Beta")
            let live = try await store.keys.create(tenant: "acme")
            let revoked = try await store.keys.create(tenant: "acme")
            try await store.keys.revoke(keyID: revoked.keyID)
            let betaKey = try await store.keys.create(tenant: "beta")
            try await store.tenants.disable("beta")
            _ = try await store.policies.apply(tenant: "acme", yaml: TestPolicies.allowAll(), appliedBy: "a")
            let v2 = try await store.policies.apply(tenant: "acme", yaml: TestPolicies.blockSecrets, appliedBy: "a")
            let catalog = try ProviderCatalog.load(contentsOf: TestDatabase.policiesDirectory + "/providers.yaml")
            _ = try await store.providers.importCatalog(catalog)

            let snapshot = try await store.loadSnapshot()
            #expect(snapshot.authenticate(presentedKey: live.plaintextKey) ==
                    AuthenticatedKey(tenantID: "acme", keyID: live.keyID, tenantDisabled: false, revoked: false))
            #expect(snapshot.authenticate(presentedKey: revoked.plaintextKey)?.revoked == true)
            #expect(snapshot.authenticate(presentedKey: betaKey.plaintextKey)?.tenantDisabled == true)
            #expect(snapshot.authenticate(presentedKey: "ak_live_unknown") == nil)

            let policy = try #require(snapshot.activePolicy(tenant: "acme"))
            #expect(policy.version == 2 && policy.sha256 == v2.version.sha256)
            #expect(policy.policy == (try Policy(yaml: TestPolicies.blockSecrets)))
            #expect(snapshot.activePolicy(tenant: "beta") == nil)
            #expect(snapshot.tenants.keys.sorted() == ["acme", "beta"])
            #expect(Set(snapshot.providers.providers) == Set(catalog.providers))
            #expect(snapshot.unloadablePolicies.isEmpty)
        }
    }

    @Test func reloadReusesParsedPoliciesAndSeesChanges() async throws {
        try await TestDatabase.withFreshDatabase { store, _ in
            try await store.tenants.create(id: "acme", name: "Acme")
            _ = try await store.policies.apply(tenant: "acme", yaml: TestPolicies.allowAll(), appliedBy: "a")
            let first = try await store.loadSnapshot()
            _ = try await store.policies.apply(tenant: "acme", yaml: TestPolicies.blockSecrets, appliedBy: "a")
            let second = try await store.loadSnapshot(reusing: first)
            #expect(second.activePolicy(tenant: "acme")?.version == 2)
            _ = try await store.policies.rollback(tenant: "acme", to: 1)
            let third = try await store.loadSnapshot(reusing: second)
            #expect(third.activePolicy(tenant: "acme")?.policy.name == "allow-all")
        }
    }
}
