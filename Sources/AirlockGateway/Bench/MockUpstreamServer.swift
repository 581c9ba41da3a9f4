import AirlockCore
import AirlockUpstream
import AsyncHTTPClient
import Hummingbird
import Logging
import NIOCore

/// A fast OpenAI-compatible provider for `airlock bench gateway`: answers
/// `POST /v1/chat/completions` with a fixed `chat.completion` (or, when the request says
/// `"stream": true`, a fixed SSE stream of chunks + a usage chunk + `[DONE]`) that is encoded
/// once at startup, so the provider itself costs as little as possible and the same for the
/// direct and the through-Airlock path. Model `bench-echo` answers with the last message's
/// content instead, so pseudonyms travel back through Airlock's restorer.
/// Loopback only; it exists to be measured against, not to be deployed.
public enum MockUpstreamServer {
    public static let echoModel = "bench-echo"

    /// Serves until cancelled (or SIGTERM/SIGINT when run as a service group).
    /// `onListening` receives the bound port (useful with port 0).
    /// With `proxyTo` (a base URL such as `http://127.0.0.1:P/v1`) it is instead the thinnest
    /// possible proxy — Hummingbird in, Airlock's own upstream transport out (the same-loop
    /// pool for whole answers from plain-http providers, as the gateway uses), body collected
    /// and passed back — which tells how much of Airlock's added latency the extra HTTP hop
    /// costs by itself, and so how much is Airlock's own work.
    public static func run(port: Int, streamChunks: Int = 8, proxyTo: String? = nil, logger: Logger,
                           onListening: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        let responses = Responses(streamChunks: streamChunks)
        guard let proxyTo else {
            let router = Router()
            router.get("/v1/models") { _, _ in responses.modelsResponse }
            router.post("/v1/chat/completions") { request, _ in
                let body = try await request.body.collect(upTo: 16 << 20)
                return responses.answer(body)
            }
            return try await serve(router, port: port, logger: logger, onListening: onListening)
        }
        // The proxy needs the client connection's event loop, which Airlock's context carries.
        let router = Router(context: AirlockRequestContext.self)
        router.get("/v1/models") { _, _ in responses.modelsResponse }
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 256)
        configuration.decompression = .disabled
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        let pinned = PinnedConnectionPool()
        let upstream = UpstreamClient(httpClient: http, timeouts: .init(read: .seconds(30), total: .seconds(30)), pinned: pinned)
        router.post("/v1/chat/completions") { request, context in
            let body = try await request.body.collect(upTo: 16 << 20)
            let streaming = Responses.asksForStream(body.readableBytesView)
            let key = request.headers[.authorization].map { String($0.dropFirst("Bearer ".count)) }
            let endpoint = ProviderEndpoint(name: "bench-upstream", kind: .compatible, baseURL: proxyTo, region: Region("us-east"), models: [], apiKey: key)
            let response = try await upstream.post(endpoint, path: "/chat/completions", body: Array(buffer: body), requestID: context.requestID,
                                                   logger: context.logger, streaming: streaming, on: context.channel.eventLoop)
            let answer = try await response.body.collect(upTo: 16 << 20)
            return Response(status: .init(code: response.status),
                            headers: [.contentType: response.headers.first(name: "content-type") ?? "application/json"],
                            body: .init(byteBuffer: answer))
        }
        do { try await serve(router, port: port, logger: logger, onListening: onListening) } catch {
            pinned.shutdown()
            try? await http.shutdown()
            throw error
        }
        pinned.shutdown()
        try? await http.shutdown()
    }

    private static func serve<Context: RequestContext>(_ router: Router<Context>, port: Int, logger: Logger,
                                                       onListening: @escaping @Sendable (Int) async -> Void) async throws
        where Context.Source == ApplicationRequestContextSource {
        let app = Application(
            router: router,
            configuration: .init(address: .hostname("127.0.0.1", port: port), serverName: "airlock-bench-upstream"),
            onServerRunning: { channel in await onListening(channel.localAddress?.port ?? port) },
            logger: logger)
        try await app.runService()
    }

    struct Responses: Sendable {
        let completion: ByteBuffer
        let streamEvents: [ByteBuffer]
        let models: ByteBuffer

        var modelsResponse: Response {
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: models))
        }

        init(streamChunks: Int) {
            completion = ByteBuffer(bytes: Self.completion(content: "Sure. Here is a short, fixed answer from the benchmark upstream.").serializedBytes)
            var events: [ByteBuffer] = []
            let words = ["Sure", ".", " Here", " is", " a", " short", ",", " fixed", " streamed", " answer", "."]
            for i in 0..<max(1, streamChunks) {
                let delta: JSONValue = i == 0
                    ? .object(JSONObject([("role", .string("assistant")), ("content", .string(words[0]))]))
                    : .object(JSONObject([("content", .string(words[i % words.count]))]))
                events.append(Self.event(Self.chunk(delta: delta, finish: i == streamChunks - 1 ? "stop" : nil)))
            }
            events.append(Self.event(.object(JSONObject([
                ("id", .string("chatcmpl-bench")), ("object", .string("chat.completion.chunk")), ("created", .int(1_700_000_000)),
                ("model", .string("bench-chat")), ("choices", .array([])), ("usage", Self.usage),
            ]))))
            events.append(ByteBuffer(string: "data: [DONE]\n\n"))
            streamEvents = events
            models = ByteBuffer(bytes: JSONValue.object(JSONObject([
                ("object", .string("list")),
                ("data", .array(["bench-chat", echoModel].map { JSONValue.object(JSONObject([("id", .string($0)), ("object", .string("model"))])) })),
            ])).serializedBytes)
        }

        func answer(_ body: ByteBuffer) -> Response {
            let view = body.readableBytesView
            if Self.asksForStream(view) {
                let events = streamEvents
                return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
                                body: ResponseBody { writer in
                                    for event in events { try await writer.write(event) }
                                    try await writer.finish(nil)
                                })
            }
            if Self.contains(view, Self.echoMarker), let json = try? JSONValue(parsing: view),
               let last = json["messages"]?.arrayValue?.last, let content = last["content"]?.stringValue {
                let bytes = Self.completion(content: "You wrote: " + content).serializedBytes
                return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
            }
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: completion))
        }

        /// Whether a request body says `"stream": true` (a byte search; the body is not parsed).
        static func asksForStream(_ view: ByteBufferView) -> Bool {
            contains(view, streamTrue) || contains(view, streamTrueSpaced)
        }

        static let streamTrue = Array(#""stream":true"#.utf8)
        static let streamTrueSpaced = Array(#""stream": true"#.utf8)
        static let echoMarker = Array(echoModel.utf8)

        static func contains(_ haystack: ByteBufferView, _ needle: [UInt8]) -> Bool {
            guard haystack.count >= needle.count, let first = needle.first else { return false }
            var i = haystack.startIndex
            let last = haystack.endIndex - needle.count
            while i <= last {
                if haystack[i] == first {
                    var j = 1
                    while j < needle.count, haystack[i + j] == needle[j] { j += 1 }
                    if j == needle.count { return true }
                }
                i += 1
            }
            return false
        }

        static let usage: JSONValue = .object(JSONObject([
            ("prompt_tokens", .int(24)), ("completion_tokens", .int(12)), ("total_tokens", .int(36)),
        ]))

        static func completion(content: String) -> JSONValue {
            .object(JSONObject([
                ("id", .string("chatcmpl-bench")), ("object", .string("chat.completion")), ("created", .int(1_700_000_000)),
                ("model", .string("bench-chat")),
                ("choices", .array([.object(JSONObject([
                    ("index", .int(0)),
                    ("message", .object(JSONObject([("role", .string("assistant")), ("content", .string(content))]))),
                    ("finish_reason", .string("stop")), ("logprobs", .null),
                ]))])),
                ("usage", usage), ("system_fingerprint", .string("fp_bench")),
            ]))
        }

        static func chunk(delta: JSONValue, finish: String?) -> JSONValue {
            .object(JSONObject([
                ("id", .string("chatcmpl-bench")), ("object", .string("chat.completion.chunk")), ("created", .int(1_700_000_000)),
                ("model", .string("bench-chat")),
                ("choices", .array([.object(JSONObject([
                    ("index", .int(0)), ("delta", delta), ("finish_reason", finish.map(JSONValue.string) ?? .null),
                ]))])),
            ]))
        }

        static func event(_ json: JSONValue) -> ByteBuffer {
            ByteBuffer(bytes: Array("data: ".utf8) + json.serializedBytes + Array("\n\n".utf8))
        }
    }
}
