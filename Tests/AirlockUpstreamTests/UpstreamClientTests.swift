import AirlockCore
import AsyncHTTPClient
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import Testing
@testable import AirlockUpstream

/// `UpstreamClient` against a real HTTP/1.1 server on loopback that records what arrives on
/// the socket: how a request is written, limits, timeouts and cancellation — through
/// AsyncHTTPClient (streamed answers) and through the pinned same-loop pool (whole answers
/// from plain-http providers).
@Suite struct UpstreamClientTests {
    /// The fixed part of a request is worked out once per provider URL and reused: each call
    /// must still carry its own request id, and the credentials of the endpoint it was sent
    /// for, also when two endpoints share a URL.
    @Test(arguments: UpstreamPath.allCases)
    func eachCallCarriesItsOwnCredentialsAndRequestID(_ path: UpstreamPath) async throws {
        try await withUpstream(path) { server, client in
            var first = server.endpoint
            first.apiKey = "sk-first"
            var second = server.endpoint
            second.apiKey = "sk-second"
            var azure = server.endpoint
            azure.kind = .azure
            azure.apiKey = "az-key"
            let calls = [(first, "req_one"), (second, "req_two"), (first, "req_three"), (azure, "req_four"), (second, "req_five")]
            for (endpoint, id) in calls {
                let response = try await client.post(endpoint, path: "/ok", body: Array("{}".utf8), requestID: id, logger: server.logger,
                                                     streaming: path == .general, on: path == .pinned ? UpstreamPath.clientLoop : nil)
                #expect(response.status == 200)
                _ = try await response.collect(upTo: 1 << 20)
            }
            let seen = server.recorder.requests()
            #expect(seen.map { $0.headers["x-request-id"] } == calls.map { [$0.1] })
            #expect(seen.map { $0.headers["authorization"] } == [["Bearer sk-first"], ["Bearer sk-second"], ["Bearer sk-first"], [], ["Bearer sk-second"]])
            #expect(seen[3].headers["api-key"] == ["az-key"])
            let port = server.channel.localAddress!.port!
            #expect(seen.allSatisfy { $0.headers["host"] == ["127.0.0.1:\(port)"] && $0.headers["content-length"] == ["2"] })
            #expect(seen.allSatisfy { $0.headers["content-type"] == ["application/json"] })
        }
    }

    /// An API key with a line break (read from a file with its newline, or crafted to inject
    /// a header) is refused before anything is sent, on both transports.
    @Test(arguments: UpstreamPath.allCases)
    func headerValuesThatCannotBeSentAreRefused(_ path: UpstreamPath) async throws {
        try await withUpstream(path) { server, client in
            for key in ["sk-key\n", "sk-key\r\nx-injected: 1", "sk-\u{0}key"] {
                var endpoint = server.endpoint
                endpoint.apiKey = key
                let error = await path.failure(client, endpoint, path: "/ok", unexpected: "a key with control characters was sent")
                #expect(error?.code == .upstreamError)
                #expect(error?.message.contains("cannot be sent") == true)
                #expect(error?.message.contains("sk-") == false)
            }
            #expect(server.recorder.requests().isEmpty)
            // The same client still sends good requests.
            var endpoint = server.endpoint
            endpoint.apiKey = "sk-good"
            let response = try await path.post(client, endpoint, path: "/ok", body: Array("{}".utf8))
            #expect(response.status == 200)
            #expect(server.recorder.requests().count == 1)
        }
    }

    @Test(arguments: UpstreamPath.allCases)
    func headAndBodyReachTheProviderInOneSegment(_ path: UpstreamPath) async throws {
        try await withUpstream(path) { server, client in
            let body = Array(#"{"model":"m","messages":[{"role":"user","content":"hello"}]}"#.utf8)
            for _ in 0..<40 {
                let response = try await path.post(client, server.endpoint, path: "/ok", body: body)
                #expect(response.status == 200)
                #expect(String(buffer: try await response.body.collect(upTo: 1 << 20)) == UpstreamStub.answer)
            }
            // Every request's first read on the server already held its whole body: the
            // provider wakes once per call, not once for the head and again for the body.
            let requests = server.recorder.requests()
            #expect(requests.count == 40)
            #expect(requests.allSatisfy { $0.firstRead == $0.total && $0.total > body.count })
            #expect(server.recorder.connections() == 1)
        }
    }

    @Test(arguments: UpstreamPath.allCases)
    func concurrentCallsReuseTheirConnections(_ path: UpstreamPath) async throws {
        try await withUpstream(path) { server, client in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        for _ in 0..<25 {
                            let response = try await path.post(client, server.endpoint, path: "/ok", body: Array("{}".utf8))
                            _ = try await response.body.collect(upTo: 1 << 20)
                        }
                    }
                }
                try await group.waitForAll()
            }
            // 200 calls, at most 8 at a time: kept-alive connections, not one per call.
            #expect(server.recorder.requests().count == 200)
            #expect(server.recorder.connections() <= 16)
        }
    }

    @Test func answerPastTheReadersLimitFails() async throws {
        try await withUpstream(.general) { server, client in
            let response = try await client.post(server.endpoint, path: "/big", body: Array("{}".utf8), requestID: "req_test",
                                                 logger: server.logger)
            #expect(response.status == 200)
            await #expect(throws: NIOTooManyBytesError.self) { _ = try await response.body.collect(upTo: 1_000) }
        }
    }

    @Test(arguments: UpstreamPath.allCases)
    func hangingProviderTimesOutAs504(_ path: UpstreamPath) async throws {
        try await withUpstream(path, read: .milliseconds(300)) { server, client in
            let started = ContinuousClock.now
            let error = await path.failure(client, server.endpoint, path: "/hang", unexpected: "a provider that never answers did not time out")
            #expect(error?.code == .upstreamTimeout)
            #expect(error?.httpStatus == 504)
            // Bounded: the 300 ms read timeout, with wide room for a loaded CI machine.
            #expect(ContinuousClock.now - started < .seconds(20))
        }
    }

    @Test(arguments: UpstreamPath.allCases)
    func cancellingTheCallerAbandonsTheProviderRequest(_ path: UpstreamPath) async throws {
        try await withUpstream(path) { server, client in
            let call = Task {
                try await path.post(client, server.endpoint, path: "/hang", body: Array("{}".utf8))
            }
            // Wait until the provider has the request, then let the client go away.
            let deadline = ContinuousClock.now + .seconds(20)
            while server.recorder.requests().isEmpty && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
            call.cancel()
            let result = await call.result
            guard case .failure(let error as AirlockError) = result else {
                Issue.record("cancelled call did not fail: \(result)")
                return
            }
            #expect(error.code == .upstreamError)
            // The provider sees its connection closed (the request is not left running). A wait
            // of its own, with room for a test process starved by the suites beside it (sharing
            // the first wait's 20 s failed once at a load average of 10).
            let closeDeadline = ContinuousClock.now + .seconds(45)
            while !server.recorder.sawClose() && ContinuousClock.now < closeDeadline { try await Task.sleep(for: .milliseconds(10)) }
            #expect(server.recorder.sawClose())
        }
    }

}

/// Which of the client's two transports a test drives.
enum UpstreamPath: String, CaseIterable, Sendable, CustomTestStringConvertible {
    /// AsyncHTTPClient: streamed answers, TLS providers.
    case general
    /// The same-loop pool: whole answers from plain-http providers.
    case pinned

    var testDescription: String { rawValue }

    /// The loop a client connection of the gateway would be on: one for the whole test.
    static let clientLoop = MultiThreadedEventLoopGroup.singleton.next()

    /// The error a call that must fail fails with; records `unexpected` as an issue (and
    /// returns nil) when it is answered instead.
    func failure(_ client: UpstreamClient, _ endpoint: ProviderEndpoint, path: String, unexpected: Comment,
                 sourceLocation: SourceLocation = #_sourceLocation) async -> AirlockError? {
        do {
            _ = try await post(client, endpoint, path: path, body: Array("{}".utf8))
            Issue.record(unexpected, sourceLocation: sourceLocation)
            return nil
        } catch {
            return error
        }
    }

    func post(_ client: UpstreamClient, _ endpoint: ProviderEndpoint, path: String, body: [UInt8]) async throws(AirlockError) -> UpstreamClient.Response {
        let logger = Logger(label: "upstream-client-test")
        switch self {
        case .general:
            return try await client.post(endpoint, path: path, body: body, requestID: "req_test", logger: logger)
        case .pinned:
            return try await client.post(endpoint, path: path, body: body, requestID: "req_test", logger: logger,
                                         streaming: false, on: Self.clientLoop)
        }
    }
}

/// A client for `path` against a fresh stub, shut down afterwards whatever happened.
func withUpstream(_ path: UpstreamPath, read: TimeAmount = .seconds(30), maxResponseBytes: Int = 1 << 20,
                  _ body: (UpstreamStub, UpstreamClient) async throws -> Void) async throws {
    let server = try await UpstreamStub.start()
    let timeouts = UpstreamClient.Timeouts(connect: .seconds(5), read: read, total: .seconds(60))
    let pinned = path == .pinned ? PinnedConnectionPool() : nil
    let client = UpstreamClient(httpClient: UpstreamClient.makeHTTPClient(timeouts: timeouts), timeouts: timeouts,
                                pinned: pinned, maxResponseBytes: maxResponseBytes)
    do {
        try await body(server, client)
    } catch {
        pinned?.shutdown()
        try? await client.httpClient.shutdown()
        try? await server.channel.close()
        throw error
    }
    pinned?.shutdown()
    try await client.httpClient.shutdown()
    try await server.channel.close()
}

/// What the stub saw on its sockets.
final class ReadRecorder: Sendable {
    struct Request: Sendable { var firstRead: Int; var total: Int; var uri = ""; var host = ""; var headers = HTTPHeaders() }
    private let state = NIOLockedValueBox((requests: [Request](), opens: 0, closes: 0, children: [any Channel](), bulkWritten: 0))
    /// Chunks of `/sse-bulk` the socket has taken so far.
    func bulkWritten() -> Int { state.withLockedValue { $0.bulkWritten } }
    func bulkChunkWritten() { state.withLockedValue { $0.bulkWritten += 1 } }
    func accepted(_ channel: any Channel) { state.withLockedValue { $0.children.append(channel) } }
    func children() -> [any Channel] { state.withLockedValue { $0.children } }
    func request(_ r: Request) { state.withLockedValue { $0.requests.append(r) } }
    func closes() -> Int { state.withLockedValue { $0.closes } }
    func opened() { state.withLockedValue { $0.opens += 1 } }
    func closed() { state.withLockedValue { $0.closes += 1 } }
    func connections() -> Int { state.withLockedValue { $0.opens } }
    func requests() -> [Request] { state.withLockedValue { $0.requests } }
    func sawClose() -> Bool { state.withLockedValue { $0.closes > 0 } }
}

/// A loopback provider: `/ok` answers a small JSON object, `/big` 64 KB, `/hang` never,
/// `/drop` closes the connection without answering, `/close` answers with
/// `connection: close`, `/garbage` answers with bytes that are not HTTP. Event streams:
/// `/sse?gate=G` sends one event, then the rest once the test opens gate G; `/sse-stall`
/// sends one event and stops; `/sse-bulk` sends 32 MB in 64 KB chunks.
struct UpstreamStub: Sendable {
    static let answer = #"{"id":"chatcmpl-stub","object":"chat.completion","choices":[]}"#
    let channel: any Channel
    let recorder: ReadRecorder
    let logger = Logger(label: "upstream-client-test")

    var endpoint: ProviderEndpoint {
        ProviderEndpoint(name: "stub", kind: .compatible, baseURL: "http://127.0.0.1:\(channel.localAddress!.port!)", region: Region("us-east"), models: ["m"])
    }

    static func start() async throws -> UpstreamStub {
        let recorder = ReadRecorder()
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                recorder.accepted(channel)
                return channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    try sync.addHandler(RawReadHandler(recorder: recorder))
                    try sync.configureHTTPServerPipeline()
                    try sync.addHandler(StubResponder(recorder: recorder))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return UpstreamStub(channel: channel, recorder: recorder)
    }

    /// Closes the connections the stub has accepted (closing the listener leaves them open).
    func closeChildren() {
        for child in recorder.children() { child.close(promise: nil) }
    }
}

/// Counts the raw bytes of each request as they come off the socket: the first read's size
/// and the total, recorded when the responder reports the request complete.
final class RawReadHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    let recorder: ReadRecorder
    var firstRead: Int?
    var total = 0
    init(recorder: ReadRecorder) { self.recorder = recorder }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = unwrapInboundIn(data)
        let n = bytes.readableBytes
        if String(buffer: bytes).hasPrefix("POST /garbage ") {
            context.writeAndFlush(NIOAny(ByteBuffer(string: "SMTP READY\r\n\r\n")), promise: nil)
        }
        if firstRead == nil { firstRead = n }
        total += n
        context.fireChannelRead(data)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let complete = event as? RequestCompleteEvent {
            recorder.request(.init(firstRead: firstRead ?? 0, total: total, uri: complete.uri, host: complete.host, headers: complete.headers))
            firstRead = nil
            total = 0
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelActive(context: ChannelHandlerContext) {
        recorder.opened()
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        recorder.closed()
        context.fireChannelInactive()
    }
}

struct RequestCompleteEvent { var uri: String; var host: String; var headers: HTTPHeaders }

final class StubResponder: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart
    var head: HTTPRequestHead?
    let recorder: ReadRecorder
    init(recorder: ReadRecorder) { self.recorder = recorder }

    static let bulkChunks = 512
    static let bulkChunk = ByteBuffer(repeating: UInt8(ascii: "x"), count: 64 * 1024)
    static let firstEvent = "data: {\"n\":1}\n\n"
    static let laterEvents = "data: {\"n\":2}\n\ndata: {\"n\":3}\n\ndata: [DONE]\n\n"

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            head = h
        case .body:
            break
        case .end:
            context.pipeline.fireUserInboundEventTriggered(RequestCompleteEvent(uri: head?.uri ?? "", host: head?.headers.first(name: "host") ?? "",
                                                                                        headers: head?.headers ?? HTTPHeaders()))
            respond(context: context)
        }
    }

    private func respond(context: ChannelHandlerContext) {
        let uri = head?.uri ?? ""
        if uri.hasSuffix("/hang") { return }
        if uri.hasSuffix("/drop") { return context.close(promise: nil) }
        if uri.hasSuffix("/garbage") { return }  // RawReadHandler answered it
        if uri.contains("/sse") { return stream(uri, context: context) }
        let text = uri.hasSuffix("/big") ? String(repeating: "x", count: 64 * 1024) : UpstreamStub.answer
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: "application/json")
        headers.add(name: "content-length", value: "\(text.utf8.count)")
        if uri.hasSuffix("/close") { headers.add(name: "connection", value: "close") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: text)))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    private func stream(_ uri: String, context: ChannelHandlerContext) {
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: "text/event-stream")
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
        if uri.hasSuffix("/sse-bulk") {
            for _ in 0..<Self.bulkChunks {
                let promise = context.eventLoop.makePromise(of: Void.self)
                let recorder = self.recorder
                promise.futureResult.whenSuccess { recorder.bulkChunkWritten() }
                context.write(wrapOutboundOut(.body(.byteBuffer(Self.bulkChunk))), promise: promise)
            }
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            return
        }
        context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: Self.firstEvent)))), promise: nil)
        guard let gate = uri.range(of: "gate=").map({ String(uri[$0.upperBound...]) }) else { return }  // /sse-stall
        waitForGate(gate, context: NIOLoopBound(context, eventLoop: context.eventLoop), handler: NIOLoopBound(self, eventLoop: context.eventLoop))
    }

    private func waitForGate(_ gate: String, context: NIOLoopBound<ChannelHandlerContext>, handler: NIOLoopBound<StubResponder>) {
        context.eventLoop.scheduleTask(in: .milliseconds(5)) {
            guard StreamGates.isOpen(gate) else { return handler.value.waitForGate(gate, context: context, handler: handler) }
            let (ctx, h) = (context.value, handler.value)
            ctx.write(h.wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: Self.laterEvents)))), promise: nil)
            ctx.writeAndFlush(h.wrapOutboundOut(.end(nil)), promise: nil)
        }
    }
}

/// Gates the tests open to let `/sse?gate=G` send the rest of its answer.
enum StreamGates {
    private static let open = NIOLockedValueBox(Set<String>())
    static func isOpen(_ gate: String) -> Bool { open.withLockedValue { $0.contains(gate) } }
    static func open(_ gate: String) { _ = open.withLockedValue { $0.insert(gate) } }
}
