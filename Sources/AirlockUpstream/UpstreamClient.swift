import AirlockCore
import AsyncHTTPClient
import Logging
import NIOCore
import NIOHTTP1

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
    /// Same-loop connections for whole (non-streamed) answers from plain-`http://`
    /// providers; nil sends everything through `httpClient`.
    public let pinned: PinnedConnectionPool?
    /// Largest answer the pinned path reads; bigger ones fail as a provider error.
    public let maxResponseBytes: Int
    private let templates = RequestTemplates()

    public init(httpClient: HTTPClient, timeouts: Timeouts, pinned: PinnedConnectionPool? = nil, maxResponseBytes: Int = 64 << 20) {
        self.httpClient = httpClient
        self.timeouts = timeouts
        self.pinned = pinned
        self.maxResponseBytes = maxResponseBytes
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
        public var body: HTTPClientResponse.Body
        /// The whole body when it was read before the response was handed back (the pinned
        /// path): `collect` returns it without going through the async sequence.
        public var buffered: ByteBuffer?
        public var isEventStream: Bool {
            headers.first(name: "content-type")?.lowercased().hasPrefix("text/event-stream") ?? false
        }

        public init(status: Int, headers: HTTPHeaders, body: HTTPClientResponse.Body, buffered: ByteBuffer? = nil) {
            self.status = status
            self.headers = headers
            self.body = body
            self.buffered = buffered
        }

        /// The whole body, at most `maxBytes` (`NIOTooManyBytesError` past it).
        public func collect(upTo maxBytes: Int) async throws -> ByteBuffer {
            guard let buffered else { return try await body.collect(upTo: maxBytes) }
            guard buffered.readableBytes <= maxBytes else { throw NIOTooManyBytesError(maxBytes: maxBytes) }
            return buffered
        }
    }

    /// POSTs a JSON body. Connection failures and timeouts become `AirlockError`s
    /// (502/504) whose messages name the provider but never the payload.
    ///
    /// A request to a plain-`http://` provider goes over the pinned pool on `loop` (the client
    /// connection's event loop) when there is one: a whole answer comes back already read, a
    /// streamed one as soon as its head is in, with the body following part by part.
    public func post(_ endpoint: ProviderEndpoint, path: String, body: [UInt8], requestID: String, logger: Logger,
                     streaming: Bool = true, on loop: (any EventLoop)? = nil) async throws(AirlockError) -> Response {
        let url = endpoint.url(for: path)
        let template = templates.template(url: url, endpoint: endpoint)
        guard template.sendable, RequestTemplates.isSendable(requestID) else {
            throw AirlockError(.upstreamError, "provider '\(endpoint.name)' is configured with a header value (API key or URL) that cannot be sent")
        }
        let bytes = ByteBuffer(bytes: body)
        do {
            if let pinned, let loop, let target = template.target {
                var headers = template.pinnedHeaders
                headers.add(name: "x-request-id", value: requestID)
                let reply = try await pinned.post(target, headers: headers, body: bytes, on: loop,
                                                  connectTimeout: timeouts.connect, readTimeout: timeouts.read,
                                                  totalTimeout: timeouts.total, maxResponseBytes: maxResponseBytes, streaming: streaming)
                if let stream = reply.stream {
                    return Response(status: reply.status, headers: reply.headers, body: .stream(stream))
                }
                return Response(status: reply.status, headers: reply.headers, body: .bytes(reply.body), buffered: reply.body)
            }
            var request = HTTPClientRequest(url: url)
            request.method = .POST
            request.headers = template.headers
            request.headers.add(name: "x-request-id", value: requestID)
            request.body = .bytes(bytes)
            let response = try await httpClient.execute(request, timeout: timeouts.total, logger: logger)
            return Response(status: Int(response.status.code), headers: response.headers, body: response.body)
        } catch {
            throw UpstreamClient.classify(error, provider: endpoint.name)
        }
    }

    /// The headers every request to `endpoint` carries, whichever transport sends it (each
    /// request adds its `x-request-id`).
    static func fixedHeaders(for endpoint: ProviderEndpoint) -> HTTPHeaders {
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: "application/json")
        headers.add(name: "accept", value: "application/json, text/event-stream")
        if let key = endpoint.apiKey {
            if endpoint.kind == .azure { headers.add(name: "api-key", value: key) }
            else { headers.add(name: "authorization", value: "Bearer \(key)") }
        }
        return headers
    }

    /// Maps transport errors to the wire contract: timeouts are 504, everything else 502.
    public static func classify(_ error: any Error, provider: String) -> AirlockError {
        if let airlock = error as? AirlockError { return airlock }
        if let failure = error as? ProviderExchangeHandler.Failure {
            switch failure.kind {
            case .readTimeout, .deadlineExceeded: return AirlockError(.upstreamTimeout, "provider '\(provider)' timed out")
            case .cancelled: return AirlockError(.upstreamError, "request to provider '\(provider)' was cancelled")
            case .tooLarge: return AirlockError(.upstreamError, "provider '\(provider)' answered with more than the response size limit")
            case .protocolError: return AirlockError(.upstreamError, "provider '\(provider)' sent a malformed HTTP answer")
            case .closed: return AirlockError(.upstreamError, "provider '\(provider)' closed the connection")
            }
        }
        if case ChannelError.connectTimeout = error { return AirlockError(.upstreamTimeout, "provider '\(provider)' timed out") }
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
