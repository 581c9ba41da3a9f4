import AirlockCore
import AsyncHTTPClient
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix

/// Sends requests to OpenAI-compatible providers over one shared, pooled HTTP client and
/// hands back the response with its body still streaming, so SSE chunks reach the client as
/// soon as the provider writes them.
public struct UpstreamClient: Sendable {
    public struct Timeouts: Sendable {
        public var connect: TimeAmount
        /// Longest silence between two bytes of a response (covers slow first tokens).
        public var read: TimeAmount
        /// Hard bound on one whole request, streaming included.
        public var total: TimeAmount
        public init(connect: TimeAmount = .seconds(5), read: TimeAmount = .seconds(120), total: TimeAmount = .seconds(900)) {
            self.connect = connect
            self.read = read
            self.total = total
        }
    }

    public let httpClient: HTTPClient
    public let timeouts: Timeouts

    public init(httpClient: HTTPClient, timeouts: Timeouts) {
        self.httpClient = httpClient
        self.timeouts = timeouts
    }

    /// A client configured for provider traffic: bounded connect/read timeouts, pooled
    /// connections, TLS certificate verification on (AsyncHTTPClient's default).
    public static func makeHTTPClient(timeouts: Timeouts) -> HTTPClient {
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(connect: timeouts.connect, read: timeouts.read)
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 256)
        // A refused connection should fail over to the next provider now, not be retried
        // until the connect timeout.
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.decompression = .disabled
        configuration.httpVersion = .automatic
        // One write per request instead of one per flushed part (see FlushCoalescingHandler).
        configuration.http1_1ConnectionDebugInitializer = { channel in
            channel.eventLoop.submit {
                try channel.pipeline.syncOperations.addHandler(FlushCoalescingHandler(), position: .first)
            }
        }
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    public struct Response: Sendable {
        public var status: Int
        public var headers: HTTPHeaders
        public var body: UpstreamBody
        public var isEventStream: Bool {
            headers.first(name: "content-type")?.lowercased().hasPrefix("text/event-stream") ?? false
        }
    }

    /// POSTs a JSON body. Connection failures and timeouts become `AirlockError`s
    /// (502/504) whose messages name the provider but never the payload.
    ///
    /// `buffering: limit` reads the whole answer (at most `limit` bytes) on the connection's
    /// event loop before returning — for calls that want JSON, not a stream. That path uses
    /// AsyncHTTPClient's delegate API with the connection on the caller's event loop: no
    /// task, actor or continuation per body part, which the streaming API costs (~10% of a
    /// clean call's CPU). Without a limit the body streams (`UpstreamBody`).
    public func post(_ endpoint: ProviderEndpoint, path: String, body: [UInt8], requestID: String, buffering limit: Int? = nil,
                     logger: Logger) async throws(AirlockError) -> Response {
        var headers = HTTPHeaders()
        headers.reserveCapacity(5)
        headers.add(name: "content-type", value: "application/json")
        headers.add(name: "accept", value: "application/json, text/event-stream")
        headers.add(name: "x-request-id", value: requestID)
        if let key = endpoint.apiKey {
            if endpoint.kind == .azure { headers.add(name: "api-key", value: key) }
            else { headers.add(name: "authorization", value: "Bearer \(key)") }
        }
        let url = endpoint.url(for: path)
        if let limit {
            return try await postBuffered(url: url, headers: headers, body: body, limit: limit, provider: endpoint.name, logger: logger)
        }
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers = headers
        request.body = .bytes(ByteBuffer(bytes: body))
        do {
            let response = try await httpClient.execute(request, timeout: timeouts.total, logger: logger)
            return Response(status: Int(response.status.code), headers: response.headers, body: UpstreamBody(streaming: response.body))
        } catch {
            throw UpstreamClient.classify(error, provider: endpoint.name)
        }
    }

    private func postBuffered(url: String, headers: HTTPHeaders, body: [UInt8], limit: Int, provider: String,
                              logger: Logger) async throws(AirlockError) -> Response {
        do {
            let request = try HTTPClient.Request(url: url, method: .POST, headers: headers, body: .bytes(body))
            // The caller's loop when it runs on one (Swift concurrency runs on NIO's loops here):
            // request, connection and answer then never change threads.
            let loop = MultiThreadedEventLoopGroup.currentEventLoop ?? httpClient.eventLoopGroup.any()
            let task = httpClient.execute(request: request, delegate: ResponseAccumulator(request: request, maxBodySize: limit),
                                          eventLoop: .delegateAndChannel(on: loop), deadline: .now() + timeouts.total, logger: logger)
            let response = try await withTaskCancellationHandler {
                try await task.futureResult.get()
            } onCancel: {
                task.cancel()
            }
            return Response(status: Int(response.status.code), headers: response.headers,
                            body: UpstreamBody(buffered: response.body ?? ByteBuffer()))
        } catch is ResponseAccumulator.ResponseTooBigError {
            throw AirlockError(.upstreamError, "provider '\(provider)' answered with more than \(limit) bytes")
        } catch {
            throw UpstreamClient.classify(error, provider: provider)
        }
    }

    /// Maps transport errors to the wire contract: timeouts are 504, everything else 502.
    public static func classify(_ error: any Error, provider: String) -> AirlockError {
        if let airlock = error as? AirlockError { return airlock }
        if let http = error as? HTTPClientError {
            switch http {
            case .readTimeout, .connectTimeout, .deadlineExceeded, .writeTimeout:
                return AirlockError(.upstreamTimeout, "provider '\(provider)' timed out")
            case .cancelled:
                return AirlockError(.upstreamError, "request to provider '\(provider)' was cancelled")
            default:
                break
            }
        }
        if error is CancellationError { return AirlockError(.upstreamError, "request to provider '\(provider)' was cancelled") }
        return AirlockError(.upstreamError, "provider '\(provider)' could not be reached")
    }
}
