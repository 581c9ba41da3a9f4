import AirlockCore
import AirlockPolicy
import AirlockStore
import Logging
import Testing
@testable import AirlockGateway

@Suite struct GovernanceTests {
    @Test func noSnapshotMeansNotReadyNeverAllowAll() {
        let cache = GovernanceCache(store: nil, reloadInterval: .seconds(10), maxStale: .seconds(300), logger: Logger(label: "t"))
        #expect(throws: AirlockError.self) { try cache.current() }
        do { _ = try cache.current() } catch { #expect(error.httpStatus == 503) }
        #expect(!cache.isFresh)
    }

    @Test func fixedSnapshotAuthenticatesKnownKeysOnly() throws {
        let cache = GovernanceCache(snapshot: GovernanceSnapshot(), logger: Logger(label: "t"))
        let snapshot = try cache.current()
        #expect(snapshot.authenticate(presentedKey: "ak_live_unknown") == nil)
    }

    @Test func rateLimiterRefusesBeyondTheMinuteBudgetPerTenant() throws {
        let limiter = TenantRateLimiter()
        let limits = RateLimits(requestsPerMinute: 3, tokensPerDay: nil)
        for _ in 0..<3 { try limiter.admit(tenant: "a", limits: limits) }
        #expect(throws: AirlockError.self) { try limiter.admit(tenant: "a", limits: limits) }
        do { try limiter.admit(tenant: "a", limits: limits) } catch { #expect(error.httpStatus == 429) }
        try limiter.admit(tenant: "b", limits: limits)  // other tenants unaffected
    }

    @Test func dailyTokenBudget() throws {
        let limiter = TenantRateLimiter()
        let limits = RateLimits(requestsPerMinute: nil, tokensPerDay: 100)
        try limiter.admit(tenant: "a", limits: limits)
        limiter.consume(tenant: "a", tokens: 150)
        #expect(throws: AirlockError.self) { try limiter.admit(tenant: "a", limits: limits) }
    }

    @Test func circuitOpensAfterConsecutiveFailuresAndClosesOnSuccess() {
        let health = ProviderHealthTracker(threshold: 2, openFor: .seconds(60))
        health.recordFailure("p")
        #expect(health.snapshot["p"] == .degraded)
        health.recordFailure("p")
        #expect(health.snapshot["p"] == .unavailable)
        health.recordSuccess("p")
        #expect(health.snapshot["p"] == nil)
    }

    @Test func usageAndCostFromOpenAIUsage() throws {
        var record = CallRecord(tenantID: "t", requestID: "r", endpoint: "/v1/chat/completions")
        record.absorbUsage(try JSONValue(parsing: #"{"prompt_tokens":1000000,"completion_tokens":2000000,"prompt_tokens_details":{"cached_tokens":0},"completion_tokens_details":{"reasoning_tokens":1500000}}"#))
        #expect(record.usage?.reasoningTokens == 1_500_000)
        let r1 = ProviderConfig(name: "deepseek", kind: .deepseek, baseURL: "https://api.deepseek.com/v1", region: Region("cn"),
                                models: [ProviderModel(name: "deepseek-reasoner", price: TokenPrice(cachedInput: 0.14, input: 0.55, output: 2.19))])
        record.price(servedBy: r1, servedModel: "deepseek-reasoner", requested: "deepseek-reasoner", catalog: [r1], local: false)
        #expect(abs((record.costUSD ?? 0) - (0.55 + 2 * 2.19)) < 1e-9)
        // Answered locally: nothing spent, and what the remote model would have cost is kept.
        record.price(servedBy: nil, servedModel: nil, requested: "deepseek-reasoner", catalog: [r1], local: true)
        #expect(record.costUSD == 0)
        #expect(abs((record.avoidedCostUSD ?? 0) - (0.55 + 2 * 2.19)) < 1e-9)
    }
}
