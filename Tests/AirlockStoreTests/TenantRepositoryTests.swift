import AirlockStore
import Testing

@Suite(.enabled(if: TestDatabase.isConfigured, TestDatabase.skipReason))
struct TenantRepositoryTests {
    @Test func createListGetDisableEnable() async throws {
        try await TestDatabase.withFreshDatabase { store, _ in
            let created = try await store.tenants.create(id: "acme", name: "Acme Corp")
            #expect(created.id == "acme" && !created.disabled && created.activePolicyVersion == nil)
            try await store.tenants.create(id: "beta", name: "Beta")
            #expect(try await store.tenants.list().map(\.id) == ["acme", "beta"])

            let disabled = try await store.tenants.disable("acme")
            #expect(disabled.disabled)
            #expect(try await store.tenants.get("acme")?.disabled == true)
            #expect(try await store.tenants.enable("acme").disabled == false)
            #expect(try await store.tenants.get("nobody") == nil)
        }
    }

    @Test func duplicateAndInvalidIdsAreRefused() async throws {
        try await TestDatabase.withFreshDatabase { store, _ in
            try await store.tenants.create(id: "acme", name: "Acme")
            await #expect(throws: GovernanceError(.tenantExists, "tenant 'acme' already exists")) {
                try await store.tenants.create(id: "acme", name: "Again")
            }
            for bad in ["", "Acme", "-x", "a b", "a'; DROP TABLE tenants; --", String(repeating: "a", count: 64)] {
                let error = await #expect(throws: GovernanceError.self) { try await store.tenants.create(id: bad, name: "x") }
                #expect(error?.code == .invalidArgument)
            }
            let error = await #expect(throws: GovernanceError.self) { try await store.tenants.disable("missing") }
            #expect(error?.code == .tenantNotFound)
            #expect(try await store.tenants.list().count == 1)
        }
    }

    @Test func hostileValuesAreStoredAsData() async throws {
        try await TestDatabase.withFreshDatabase { store, _ in
            let name = "Robert'); DROP TABLE tenants; -- \"quoted\" $$dollar$$"
            try await store.tenants.create(id: "bobby", name: name)
            #expect(try await store.tenants.get("bobby")?.name == name)
            #expect(try await store.tenants.get("x' OR '1'='1") == nil)
        }
    }
}
