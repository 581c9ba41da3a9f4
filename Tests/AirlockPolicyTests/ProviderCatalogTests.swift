import AirlockCore
import Testing

@testable import AirlockPolicy

@Suite("Providers YAML")
struct ProviderCatalogTests {
    static func load(_ providers: String) throws -> ProviderCatalog {
        try ProviderCatalog(yaml: "apiVersion: airlock/v1\nkind: Providers\nproviders:\n" + providers, file: "providers.yaml")
    }

    @Test func readsEveryField() throws {
        let c = try Self.load("""
              - name: az
                kind: azure-openai
                base_url: https://az.openai.azure.com
                region: eu-west
                secret_env: AZURE_OPENAI_API_KEY
                api_version: "2024-10-21"
                priority: 5
                weight: 2
                timeout_seconds: 30
                enabled: false
                models:
                  - { name: o1, aliases: [reasoner], deployment: o1-prod, price: { cached_input: 7.5, input: 15, output: 60 } }
              - { name: engine, kind: local, models: [tiny] }
              - { name: vllm, kind: openai, base_url: "http://127.0.0.1:8000/v1", region: kr, models: [qwen] }
            """)
        let az = try #require(c["az"])
        #expect(az == ProviderConfig(name: "az", kind: .azureOpenAI, baseURL: "https://az.openai.azure.com", region: Region("eu-west"),
                                     models: [ProviderModel(name: "o1", aliases: ["reasoner"], deployment: "o1-prod",
                                                            price: TokenPrice(cachedInput: 7.5, input: 15, output: 60))],
                                     priority: 5, weight: 2, secretEnv: "AZURE_OPENAI_API_KEY", apiVersion: "2024-10-21",
                                     timeoutSeconds: 30, enabled: false))
        #expect(c["engine"]?.region == .local && c["engine"]?.baseURL == nil)
        #expect(c.modelNames == ["qwen", "tiny"])  // disabled providers are not offered
        #expect(RoutePlanner(catalog: c).providers.map(\.name) == ["engine", "vllm"])
    }

    @Test func problemsPointAtFields() throws {
        let error = #expect(throws: PolicyValidationError.self) {
            try Self.load("""
                  - name: openai
                    kind: openai
                    base_url: http://api.openai.com/v1
                    region: USA
                    secret_env: sk-abc123
                    models: [o1, o1]
                  - { name: az, kind: azure-openai, base_url: "https://x", region: eu-west, models: [gpt-4o] }
                  - { name: openai, kind: locl, models: [] }
                  - { name: e, kind: local, region: kr, base_url: "https://x", models: [t], colour: red }
                """)
        }
        #expect(error?.brief == [
            "6:providers[0].base_url: plain http is only allowed to a loopback host (localhost, 127.0.0.1, [::1]); use https://",
            "7:providers[0].region: invalid region 'USA' (an ISO 3166 country, optionally with a cloud region: kr, us-east, eu-west)",
            "8:providers[0].secret_env: this looks like a key, not the name of an environment variable; keep the key in the environment and name the variable here",
            "9:providers[0].models[1]: model name or alias 'o1' appears twice in this provider",
            "10:providers[1].api_version: Azure OpenAI needs an api_version (e.g. 2024-10-21)",
            "10:providers[1].models[0]: Azure OpenAI models need a deployment; write {name, deployment}",
            "11:providers[2].name: duplicate provider name 'openai'",
            "11:providers[2].kind: unknown provider kind 'locl' (did you mean 'local'? expected one of openai, deepseek, azure-openai, local)",
            "11:providers[2].models: a provider serves at least one model",
            "12:providers[3].region: the local engine's region is 'local'",
            "12:providers[3].base_url: the local engine has no base_url",
            "12:providers[3].colour: unknown key 'colour' (expected one of name, kind, base_url, region, models, priority, weight, secret_env, api_version, timeout_seconds, enabled)",
        ])
    }

    @Test func environmentVariableNames() {
        #expect(ProviderCatalog.envNameProblem("OPENAI_API_KEY") == nil)
        #expect(ProviderCatalog.envNameProblem("_X1") == nil)
        #expect(ProviderCatalog.envNameProblem("openai_key") != nil)
        #expect(ProviderCatalog.envNameProblem("1KEY") != nil)
        #expect(ProviderCatalog.envNameProblem("AKIAIOSFODNN7EXAMPLE")?.contains("looks like a key") == true)
    }

    @Test func urls() {
        #expect(ProviderCatalog.urlProblem("https://api.deepseek.com/v1") == nil)
        #expect(ProviderCatalog.urlProblem("http://localhost:8080/v1") == nil)
        #expect(ProviderCatalog.urlProblem("http://[::1]:8080") == nil)
        #expect(ProviderCatalog.urlProblem("ftp://x") != nil)
        #expect(ProviderCatalog.urlProblem("https://") != nil)
        #expect(ProviderCatalog.urlProblem("http://10.0.0.5/v1") != nil)
    }

    @Test func priceCost() {
        let r1 = TokenPrice(cachedInput: 0.14, input: 0.55, output: 2.19)
        #expect(abs(r1.cost(inputTokens: 1_000_000, outputTokens: 1_000_000) - 2.74) < 1e-9)
        #expect(abs(r1.cost(inputTokens: 1_000_000, cachedInputTokens: 1_000_000, outputTokens: 0) - 0.14) < 1e-9)
        #expect(abs(TokenPrice(input: 1, output: 2).cost(inputTokens: 500_000, cachedInputTokens: 100_000, outputTokens: 0) - 0.5) < 1e-9)
    }
}
