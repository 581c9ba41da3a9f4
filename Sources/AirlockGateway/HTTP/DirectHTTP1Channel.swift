import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1

/// Hummingbird's HTTP/1.1 server child channel, with each request handled from a channel
/// handler instead of a per-connection async loop.
///
/// Hummingbird's own `HTTP1Channel` reads every request part through an `NIOAsyncChannel`
/// and writes every response part through its async writer: a task switch per part. On this
/// gateway's c=1 path that machinery cost ~0.055 ms per call (a canned answer from a channel
/// handler: 0.063 ms added, through Hummingbird's loop: 0.118 ms; see BENCHMARKS.md). Here
/// `RequestDispatchHandler` assembles the request on the event loop and hands it to the same
/// router responder once, and the response is written straight to the channel. Listener,
/// TLS, idle timeout, graceful quiescing, router, middlewares and routes are Hummingbird's;
/// the connection caps (`limits.max_connections`, `max_connections_per_client`) are this server's.
/// `AIRLOCK_HTTP_SERVER=hummingbird` switches back to `HTTP1Channel`.
struct DirectHTTP1Channel: ServerChildChannel {
    struct Connection: ServerChildChannelValue {
        let channel: any Channel
    }
    typealias Value = Connection
    /// Answers one request; never throws (errors are already responses). `wholeBody` is the
    /// body when all of it came with the head, so a route can take it without reading.
    typealias Respond = @Sendable (Request, _ wholeBody: ByteBuffer?, any Channel, Logger) async -> Response

    let idleTimeout: Duration?
    let connections: ConnectionLimiter
    let respond: Respond

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Connection> {
        channel.eventLoop.makeCompletedFuture {
            // Hummingbird's HTTP1Channel limits, so both servers refuse the same heads.
            var limits = NIOHTTPDecoderLimitConfiguration()
            limits.maxHeaderFieldSize = 80 * 1024
            limits.maxHeaderListSize = 80 * 1024
            limits.maxHeaderFieldCount = 1000
            // Only the address: a client's connections come from many ports. Never logged.
            let client = connections.perClient == nil ? nil : channel.remoteAddress?.ipAddress
            if let refusal = connections.acquire(client: client) {
                try channel.pipeline.syncOperations.configureHTTPServerPipeline(
                    withPipeliningAssistance: false, withErrorHandling: true, withOutboundHeaderValidation: false,
                    withEncoderConfiguration: .init(), withDecoderLimitConfiguration: limits)
                try channel.pipeline.syncOperations.addHandler(OverCapacityHandler(refusal: refusal))
                logger.debug("connection refused at its limit", metadata: [
                    "limit": refusal == .clientFull ? "limits.max_connections_per_client" : "limits.max_connections"])
                return Connection(channel: channel)
            }
            let connections = self.connections
            channel.closeFuture.whenComplete { _ in connections.release(client: client) }
            // Pipelined requests wait in the dispatcher (as in Hummingbird's own server, NIO's
            // pipelining handler is left out; see RequestDispatchHandler). The protocol error
            // handler answers unparseable input with 400 and closes.
            try channel.pipeline.syncOperations.configureHTTPServerPipeline(
                withPipeliningAssistance: false, withErrorHandling: true, withOutboundHeaderValidation: false,
                withEncoderConfiguration: .init(), withDecoderLimitConfiguration: limits)
            try channel.pipeline.syncOperations.addHandler(HTTP1ToHTTPServerCodec(secure: false))
            try channel.pipeline.syncOperations.addHandler(HTTPConnectionStateHandler(idleTimeout: idleTimeout, logger: logger))
            try channel.pipeline.syncOperations.addHandler(RequestDispatchHandler(respond: respond, logger: logger))
            return Connection(channel: channel)
        }
    }

    /// The connection lives in its handlers; this only keeps the server's task for it until it
    /// closes (idle timeout, client, quiescing), and closes it if the server gives up waiting.
    func handle(value: Connection, logger: Logger) async {
        await withTaskCancellationHandler {
            try? await value.channel.closeFuture.get()
        } onCancel: {
            value.channel.close(promise: nil)
        }
    }
}

extension DirectHTTP1Channel {
    /// A server builder for `Application(server:)`. Hummingbird hands the builder its own
    /// responder, which writes through an async channel writer; this server calls `responder`
    /// (the router's) itself and adds the headers Hummingbird's application would.
    static func builder(responder: some HTTPResponder<AirlockRequestContext>, idleTimeout: Duration?, connections: ConnectionLimiter,
                        serverName: String) -> HTTPServerBuilder {
        let dates = HTTPDateHeader()
        let respond: Respond = { request, wholeBody, channel, logger in
            var context = AirlockRequestContext(source: .init(channel: channel, logger: logger))
            context.receivedBody = wholeBody
            var response: Response
            do {
                response = try await responder.respond(to: request, context: context)
            } catch {
                // The error middleware answers everything it sees; this is only a backstop.
                logger.debug("unhandled error type", metadata: ["error.type": "\(type(of: error))"])
                response = Response(status: .internalServerError)
            }
            response.headers[.date] = dates.current()
            response.headers[.server] = serverName
            return response
        }
        return HTTPServerBuilder { _ in DirectHTTP1Channel(idleTimeout: idleTimeout, connections: connections, respond: respond) }
    }
}
