import AirlockCore
import AirlockPolicy
import AirlockStore
import Testing

struct ProviderValidationTests {
    @Test func providerBuiltInCodeIsHeldToTheYAMLRules() throws {
        let good = ProviderConfig(name: "kr-cloud", kind: .openai, baseURL: "https://llm.kr.example.com/v1", region: Region("kr-seoul"),
                                  models: [ProviderModel(name: "gpt-4o", aliases: ["4o"], price: TokenPrice(input: 2.5, output: 10))],
                                  secretEnv: "KR_CLOUD_API_KEY")
        try good.validate()

        var plainHTTP = good
        plainHTTP.baseURL = "http://llm.example.com"
        let e1 = #expect(throws: GovernanceError.self) { try plainHTTP.validate() }
        #expect(e1?.code == .invalidDocument)
        #expect(e1?.problems.map(\.path) == ["base_url"])

        var secretInsteadOfName = good
        secretInsteadOfName.secretEnv = "sk-abcdef0123456789"
        let e2 = #expect(throws: GovernanceError.self) { try secretInsteadOfName.validate() }
        #expect(e2?.problems.first?.path == "secret_env")
        // The rejected value looked like a key: the message must not echo it.
        #expect(e2.map { !$0.description.contains("sk-abcdef0123456789") } == true)

        var noModels = good
        noModels.models = []
        #expect(throws: GovernanceError.self) { try noModels.validate() }
    }
}

@Suite(.enabled(if: TestDatabase.isConfigured, TestDatabase.skipReason))
struct ProviderRepositoryTests {
    static let deepseek = ProviderConfig(
        name: "deepseek", kind: .deepseek, baseURL: "https://api.deepseek.com/v1", region: Region("cn"),
        models: [ProviderModel(name: "deepseek-reasoner", aliases: ["deepseek-r1"],
                               price: TokenPrice(cachedInput: 0.14, input: 0.55, output: 2.19))],
        priority: 20, secretEnv: "DEEPSEEK_API_KEY")

    @Test func addUpdateListRemove() async throws {
        try await TestDatabase.withFreshDatabase { store, _ in
            try await store.providers.add(Self.deepseek)
            #expect(try await store.providers.list() == [Self.deepseek])
            let exists = await #expect(throws: GovernanceError.self) { try await store.providers.add(Self.deepseek) }
            #expect(exists?.code == .providerExists)

            var changed = Self.deepseek
            changed.weight = 5
            changed.models[0].aliases.append("r1")
            try await store.providers.update(changed)
            #expect(try await store.providers.get("deepseek") == changed)
            #expect(try await store.providers.save(changed) == .unchanged)

            try await store.providers.remove(name: "deepseek")
            #expect(try await store.providers.list().isEmpty)
            let missing = await #expect(throws: GovernanceError.self) { try await store.providers.remove(name: "deepseek") }
            #expect(missing?.code == .providerNotFound)
        }
    }

    @Test func invalidProviderIsNotStored() async throws {
        try await TestDatabase.withFreshDatabase { store, _ in
            var invalid = Self.deepseek
            invalid.region = Region("atlantis-1")
            do {
                try await store.providers.add(invalid)
                Issue.record("an invalid provider was stored")
            } catch let error as GovernanceError {
                #expect(error.code == .invalidDocument)
            }
            let stored = try await store.providers.list()
            #expect(stored.isEmpty)
        }
    }

    @Test func importShippedProvidersFileThenReplace() async throws {
        try await TestDatabase.withFreshDatabase { store, _ in
            let shipped = try ProviderCatalog.load(contentsOf: TestDatabase.policiesDirectory + "/providers.yaml")
            try await store.providers.add(ProviderConfig(name: "legacy", kind: .openai, baseURL: "https://legacy.example.com/v1",
                                                         region: Region("us"), models: [ProviderModel(name: "gpt-3.5")]))
            let first = try await store.providers.importCatalog(shipped)
            #expect(first.added.sorted() == shipped.providers.map(\.name).sorted())
            #expect(first.removed.isEmpty)
            // Round trip: what was imported is what comes back, in planner order.
            let stored = try await store.providers.catalog()
            #expect(Set(stored.providers) == Set(shipped.providers) .union([try #require(try await store.providers.get("legacy"))]))
            #expect(stored.providers.map(\.priority) == stored.providers.map(\.priority).sorted())

            let again = try await store.providers.importCatalog(shipped, replacing: true)
            #expect(again.added.isEmpty && again.updated.isEmpty)
            #expect(again.unchanged.count == shipped.providers.count)
            #expect(again.removed == ["legacy"])
            #expect(Set(try await store.providers.list()) == Set(shipped.providers))
        }
    }
}
