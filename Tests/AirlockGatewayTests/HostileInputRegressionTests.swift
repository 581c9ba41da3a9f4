import AirlockCore
import AirlockDetect
import AirlockUpstream
import Testing
@testable import AirlockGateway

/// Regressions for what the issue #9 hostile-input and fault tests found (tests/e2e/test_hostile_*.py,
/// tests/e2e/test_faults_*.py); see SECURITY.md.
@Suite struct HostileInputRegressionTests {
    /// Model names used to reach error messages, logs and audit rows with CR/LF, NUL and
    /// escape sequences, at any length.
    @Test(arguments: ["m\r\nX-Injected: yes", "m\u{0}", "m\u{1B}[31m", "m\u{85}", String(repeating: "x", count: 257)])
    func modelNamesWithControlCharactersOrHugeAreRefused(model: String) throws {
        let body = JSONValue.object(["model": .string(model), "messages": .array([.object(["role": "user", "content": "x"])])])
        #expect(throws: AirlockError.self) { try ChatRequest.parse(body.serializedBytes) }
        do { _ = try ChatRequest.parse(body.serializedBytes) } catch {
            #expect(error.code == .invalidRequest && error.param == "model" && !error.message.contains("X-Injected"))
        }
    }

    @Test func ordinaryModelNamesPass() throws {
        for model in ["gpt-4o-mini", "deepseek-chat", "models/gemini-1.5", "Qwen/Qwen2.5-7B-Instruct:fp8", "모델"] {
            let body = JSONValue.object(["model": .string(model), "messages": .array([.object(["role": "user", "content": "x"])])])
            #expect(try ChatRequest.parse(body.serializedBytes).model == model)
        }
    }

    /// SSE events that are not JSON objects were relayed raw, past the output scan.
    @Test func nonJSONStreamEventsAreDropped() {
        var rewriter = ChatStreamRewriter(vault: Vault(), scanner: Scanner(), operators: Operators(hashKey: Array(repeating: 1, count: 32)),
                                          actions: { $0.isSecret ? .redact : .allow })
        var record = CallRecord(tenantID: "t", requestID: "r", endpoint: "/v1/chat/completions")
        for data in ["{not json", "[1,2,3]", "AKIAIOSFODNN7EXAMPLE", "\"a string\"", "42"] {
            #expect(RemoteRelay.process(.init(data: data), rewriter: &rewriter, record: &record, includeUsage: true).isEmpty)
        }
        let done = RemoteRelay.process(.init(data: "[DONE]"), rewriter: &rewriter, record: &record, includeUsage: true)
        #expect(String(decoding: done, as: UTF8.self).hasSuffix("data: [DONE]\n\n"))
    }

    @Test func connectionLimitsAreConfigurable() throws {
        let c = try GatewayConfiguration.parse(yaml: "limits:\n  body_timeout_seconds: 3\n  idle_timeout_seconds: 7.5\n")
        #expect(c.limits.bodyTimeoutSeconds == 3 && c.limits.idleTimeoutSeconds == 7.5)
        let d = GatewayConfiguration()
        #expect(d.limits.bodyTimeoutSeconds == 30 && d.limits.idleTimeoutSeconds == 60)
        #expect(throws: AirlockError.self) { try GatewayConfiguration.parse(yaml: "limits:\n  idle_timeout_seconds: 0\n").validate() }
    }

    @Test func theConnectionCapIsConfigurableAndLeavesDescriptorsForTheGateway() throws {
        let c = try GatewayConfiguration.parse(yaml: "limits:\n  max_connections: 300\n")
        #expect(c.limits.maxConnections == 300)
        #expect(GatewayConfiguration().limits.maxConnections == nil)
        #expect(throws: AirlockError.self) { try GatewayConfiguration.parse(yaml: "limits:\n  max_connections: 0\n").validate() }
        let perClient = try GatewayConfiguration.parse(yaml: "limits:\n  max_connections_per_client: 64\n")
        #expect(perClient.limits.maxConnectionsPerClient == 64 && GatewayConfiguration().limits.maxConnectionsPerClient == nil)
        #expect(throws: AirlockError.self) { try GatewayConfiguration.parse(yaml: "limits:\n  max_connections_per_client: -1\n").validate() }
        let fromEnvironment = try GatewayConfiguration.load(path: nil, environment: ["AIRLOCK_MAX_CONNECTIONS_PER_CLIENT": "12"])
        #expect(fromEnvironment.limits.maxConnectionsPerClient == 12)
        // Default: the open-files limit less max(256, a tenth) for the gateway's own descriptors.
        #expect(ConnectionLimiter.defaultLimit(openFilesLimit: 1024) == 768)
        #expect(ConnectionLimiter.defaultLimit(openFilesLimit: 20000) == 18000)
        #expect(ConnectionLimiter.defaultLimit(openFilesLimit: 100) == 16)
        #expect(ConnectionLimiter.defaultLimit(openFilesLimit: nil) == 1024)
        let e = AirlockError(.serverOverloaded, "full")
        #expect(e.httpStatus == 503 && e.openAIType == "server_error")
    }

    @Test func theLimiterHandsOutExactlyItsPlaces() async {
        let limiter = ConnectionLimiter(limit: 50)
        // 200 concurrent acquisitions: exactly 50 succeed.
        let granted = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<200 { group.addTask { limiter.acquire(client: nil) == nil } }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(granted == 50 && limiter.openConnections == 50 && limiter.refusedConnections == 150)
        limiter.release(client: nil)
        #expect(limiter.acquire(client: nil) == nil && limiter.acquire(client: nil) == .listenerFull)
        #expect(limiter.refusedConnections == 151)
    }

    @Test func theLimiterKeepsPlacesForOtherClients() async {
        let limiter = ConnectionLimiter(limit: 10, perClient: 3)
        // 40 concurrent acquisitions from one address: exactly 3 succeed.
        let granted = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<40 { group.addTask { limiter.acquire(client: "10.0.0.1") == nil } }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(granted == 3 && limiter.openConnections == 3 && limiter.refusedForClientConnections == 37)
        #expect(limiter.acquire(client: "10.0.0.1") == .clientFull)
        // Other clients still get places, up to the listener's cap.
        for n in 2...8 { #expect(limiter.acquire(client: "10.0.0.\(n)") == nil) }
        #expect(limiter.openConnections == 10 && limiter.clientsHoldingPlaces == 8)
        #expect(limiter.acquire(client: "10.0.0.9") == .listenerFull)
        // A closed connection gives its client's place back, and a client with none left is forgotten.
        limiter.release(client: "10.0.0.1")
        #expect(limiter.acquire(client: "10.0.0.1") == nil)
        limiter.release(client: "10.0.0.8")
        #expect(limiter.clientsHoldingPlaces == 7 && limiter.openConnections == 9)
        #expect(limiter.refusedConnections == 39 && limiter.refusedForClientConnections == 38)
    }

    @Test func requestTimeoutIs408() {
        let e = AirlockError(.requestTimeout, "slow")
        #expect(e.httpStatus == 408 && e.openAIType == "invalid_request_error")
    }
}
