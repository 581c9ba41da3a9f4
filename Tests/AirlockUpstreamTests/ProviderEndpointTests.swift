import AirlockCore
import AsyncHTTPClient
import Testing
@testable import AirlockUpstream

@Suite struct ProviderEndpointTests {
    @Test func urlsForEachKind() {
        let openai = ProviderEndpoint(name: "o", kind: .openai, baseURL: "https://api.openai.com/v1/", region: Region("us"), models: [])
        #expect(openai.url(for: "/chat/completions") == "https://api.openai.com/v1/chat/completions")
        let azure = ProviderEndpoint(name: "a", kind: .azure, baseURL: "https://x.openai.azure.com/openai/deployments/gpt4o", region: Region("eu-west"), models: [], azureAPIVersion: "2024-10-21")
        #expect(azure.url(for: "/chat/completions") == "https://x.openai.azure.com/openai/deployments/gpt4o/chat/completions?api-version=2024-10-21")
    }

    @Test func transportErrorsMapToTheWireContract() {
        #expect(UpstreamClient.classify(HTTPClientError.readTimeout, provider: "p").code == .upstreamTimeout)
        #expect(UpstreamClient.classify(HTTPClientError.connectTimeout, provider: "p").httpStatus == 504)
        #expect(UpstreamClient.classify(HTTPClientError.remoteConnectionClosed, provider: "p").httpStatus == 502)
        #expect(UpstreamClient.classify(CancellationError(), provider: "p").code == .upstreamError)
    }

    @Test func refusedConnectionIsA502() async throws {
        let client = UpstreamClient.makeHTTPClient(timeouts: .init(connect: .seconds(2)))
        let upstream = UpstreamClient(httpClient: client, timeouts: .init(connect: .seconds(2)))
        // Port 9 (discard) is not listening on loopback in a test sandbox.
        let endpoint = ProviderEndpoint(name: "dead", kind: .compatible, baseURL: "http://127.0.0.1:9/v1", region: Region("us"), models: ["m"])
        do {
            _ = try await upstream.post(endpoint, path: "/chat/completions", body: Array("{}".utf8), requestID: "r", logger: .init(label: "t"))
            Issue.record("expected failure")
        } catch {
            #expect(error.httpStatus == 502)
            #expect(error.message.contains("dead"))
        }
        try await client.shutdown()
    }
}
