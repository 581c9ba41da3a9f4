import Testing

@testable import AirlockPolicy

@Suite("Policy benchmark")
struct PolicyBenchmarkTests {
    @Test func reportsJSONWithTimings() throws {
        let result = PolicyBenchmark.run(iterations: 200)
        #expect(result["benchmark"] == "policy")
        #expect(result["rules"] == 9 && result["findings"] == 12 && result["iterations"] == 200)
        let ns = try #require(result["ns_per_decision"]?.doubleValue)
        #expect(ns > 0)
        #expect(try #require(result["ns_per_route_plan"]?.doubleValue) > 0)
    }
}
