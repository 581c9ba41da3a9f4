import AirlockCore
import NIOCore
import NIOEmbedded
import NIOHTTP1
import NIOPosix
import Testing
@testable import AirlockUpstream

/// The same-loop pool for whole answers from plain-http providers, against the loopback
/// stub: what goes on the wire, limits, broken and stale connections.
@Suite struct PinnedConnectionPoolTests {
    private let pinned = UpstreamPath.pinned

    @Test func requestCarriesHostPathAndQuery() async throws {
        try await withUpstream(.pinned) { server, client in
            let port = server.channel.localAddress!.port!
            var endpoint = server.endpoint
            endpoint.kind = .azure
            endpoint.azureAPIVersion = "2024-06-01"
            let response = try await pinned.post(client, endpoint, path: "/ok", body: Array("{}".utf8))
            #expect(response.status == 200)
            #expect(String(buffer: try await response.body.collect(upTo: 1 << 20)) == UpstreamStub.answer)
            let seen = try #require(server.recorder.requests().first)
            #expect(seen.uri == "/ok?api-version=2024-06-01")
            #expect(seen.host == "127.0.0.1:\(port)")
        }
    }

    @Test func answerPastTheLimitIsAProviderError() async throws {
        try await withUpstream(.pinned, maxResponseBytes: 1_000) { server, client in
            let error = await pinned.failure(client, server.endpoint, path: "/big", unexpected: "an answer past the limit was accepted")
            #expect(error?.code == .upstreamError)
            #expect(error?.httpStatus == 502)
            #expect(error?.message.contains("size limit") == true)
            // The oversized answer's connection is dropped, and the next call still works.
            let ok = try await pinned.post(client, server.endpoint, path: "/ok", body: Array("{}".utf8))
            #expect(ok.status == 200)
        }
    }

    @Test func garbageAnswerIsAProviderError() async throws {
        try await withUpstream(.pinned) { server, client in
            let error = await pinned.failure(client, server.endpoint, path: "/garbage", unexpected: "bytes that are not HTTP were accepted as an answer")
            #expect(error?.code == .upstreamError)
            #expect(error?.httpStatus == 502)
        }
    }

    @Test func connectionCloseAnswersAreNotReused() async throws {
        try await withUpstream(.pinned) { server, client in
            for _ in 0..<3 {
                let response = try await pinned.post(client, server.endpoint, path: "/close", body: Array("{}".utf8))
                #expect(response.status == 200)
            }
            #expect(server.recorder.requests().count == 3)
            #expect(server.recorder.connections() == 3)
        }
    }

    /// A kept-alive connection the provider drops as the request arrives (its idle timeout
    /// raced the call) is retried once on a new connection; a new connection that drops the
    /// request is not retried at all.
    @Test func droppedConnectionsAreRetriedOnceOnlyWhenReused() async throws {
        try await withUpstream(.pinned) { server, client in
            _ = try await pinned.post(client, server.endpoint, path: "/ok", body: Array("{}".utf8))
            let error = await pinned.failure(client, server.endpoint, path: "/drop", unexpected: "a provider that drops every request gave an answer")
            #expect(error?.code == .upstreamError)
            let drops = server.recorder.requests().filter { $0.uri == "/drop" }.count
            #expect(drops == 2)
            #expect(server.recorder.connections() == 2)
        }
        try await withUpstream(.pinned) { server, client in
            _ = await pinned.failure(client, server.endpoint, path: "/drop", unexpected: "a provider that drops every request gave an answer")
            #expect(server.recorder.requests().count == 1)
        }
    }

    /// The provider closes the kept-alive connection between two calls (its idle timeout, a
    /// restart behind a load balancer): the next call goes out on a new connection.
    @Test func connectionClosedByTheProviderBetweenCallsIsReplaced() async throws {
        try await withUpstream(.pinned) { server, client in
            #expect(try await pinned.post(client, server.endpoint, path: "/ok", body: Array("{}".utf8)).status == 200)
            server.closeChildren()
            let deadline = ContinuousClock.now + .seconds(10)
            while !server.recorder.sawClose() && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
            let response = try await pinned.post(client, server.endpoint, path: "/ok", body: Array("{}".utf8))
            #expect(response.status == 200)
            #expect(server.recorder.requests().count == 2)
            #expect(server.recorder.connections() == 2)
        }
    }

    @Test func unreachableProviderFailsWithinTheConnectTimeout() async throws {
        try await withPinnedClient(connect: .seconds(2)) { client in
            // A port nothing listens on (9, discard; privileged, so no test binds it): refused
            // (502), or on a machine too busy to answer the SYN, the 2 s connect timeout (504) —
            // never an open-ended wait.
            let endpoint = ProviderEndpoint(name: "dead", kind: .compatible, baseURL: "http://127.0.0.1:9/v1", region: Region("us"), models: ["m"])
            let started = ContinuousClock.now
            let error = await pinned.failure(client, endpoint, path: "/ok", unexpected: "a closed port answered")
            #expect(error?.code == .upstreamError || error?.code == .upstreamTimeout)
            #expect(error?.message.contains("dead") == true)
            #expect(ContinuousClock.now - started < .seconds(15))
        }
    }

    /// A cancellation that arrives after its exchange ended (the connection went back to the
    /// pool and serves another caller) must not touch the next exchange.
    @Test func lateCancellationLeavesTheNextExchangeAlone() throws {
        let channel = EmbeddedChannel()
        let handler = ProviderExchangeHandler()
        try channel.pipeline.syncOperations.addHandler(handler)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 8000)).wait()
        let head = HTTPRequestHead(version: .http1_1, method: .POST, uri: "/v1/chat/completions")
        let ok = HTTPResponseHead(version: .http1_1, status: .ok, headers: ["content-length": "0"])
        let deadline = NIODeadline.now() + .seconds(60)

        let first = handler.start(head: head, body: ByteBuffer(), maxBytes: 1 << 20, readTimeout: .seconds(30), deadline: deadline)
        let firstNumber = handler.exchangeCount
        try channel.writeInbound(HTTPClientResponsePart.head(ok))
        try channel.writeInbound(HTTPClientResponsePart.end(nil))
        #expect(try first.wait().head.status == .ok)

        let second = handler.start(head: head, body: ByteBuffer(), maxBytes: 1 << 20, readTimeout: .seconds(30), deadline: deadline)
        handler.cancel(exchange: firstNumber)
        #expect(channel.isActive)
        try channel.writeInbound(HTTPClientResponsePart.head(ok))
        try channel.writeInbound(HTTPClientResponsePart.end(nil))
        #expect(try second.wait().head.status == .ok)

        // Cancelling the running exchange does fail it and drops the connection.
        let third = handler.start(head: head, body: ByteBuffer(), maxBytes: 1 << 20, readTimeout: .seconds(30), deadline: deadline)
        handler.cancel(exchange: handler.exchangeCount)
        #expect(throws: ProviderExchangeHandler.Failure.self) { _ = try third.wait() }
        #expect(!channel.isActive)
    }

    @Test(arguments: [
        ("http://127.0.0.1:8080/v1/chat/completions", "127.0.0.1", 8080, "/v1/chat/completions"),
        ("http://localhost/v1", "localhost", 80, "/v1"),
        ("HTTP://Example.com:81", "Example.com", 81, "/"),
        ("http://[::1]:9000/x?y=1#frag", "::1", 9000, "/x?y=1"),
        ("http://host?q=1", "host", 80, "/?q=1"),
    ])
    func plainTargetsAreParsed(_ url: String, _ host: String, _ port: Int, _ path: String) throws {
        let target = try #require(PlainHTTPTarget(url: url))
        #expect(target.host == host)
        #expect(target.port == port)
        #expect(target.pathAndQuery == path)
    }

    @Test(arguments: ["https://api.openai.com/v1", "http://user:pw@host/v1", "http://host:0/v1", "http://host:99999/",
                      "http://", "http://[::1/v1", "ftp://host/", "http://host/a b", "http://ho st/"])
    func otherTargetsTakeTheGeneralClient(_ url: String) {
        #expect(PlainHTTPTarget(url: url) == nil)
    }

    @Test func ipv6AuthorityIsBracketed() throws {
        #expect(try #require(PlainHTTPTarget(url: "http://[::1]:9000/")).authority == "[::1]:9000")
        #expect(try #require(PlainHTTPTarget(url: "http://10.0.0.1/")).authority == "10.0.0.1:80")
    }

    /// A client with a pinned pool and no stub of its own, shut down whatever happened.
    private func withPinnedClient(connect: TimeAmount = .seconds(5), _ body: (UpstreamClient) async throws -> Void) async throws {
        let timeouts = UpstreamClient.Timeouts(connect: connect, read: .seconds(30), total: .seconds(60))
        let pool = PinnedConnectionPool()
        let client = UpstreamClient(httpClient: UpstreamClient.makeHTTPClient(timeouts: timeouts), timeouts: timeouts, pinned: pool)
        let result: Result<Void, any Error>
        do { try await body(client); result = .success(()) } catch { result = .failure(error) }
        pool.shutdown()
        try await client.httpClient.shutdown()
        try result.get()
    }
}
