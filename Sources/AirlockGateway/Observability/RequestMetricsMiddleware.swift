import Hummingbird
import Logging

/// Counts every request by route template, method and status, times it until its body has
/// been written (streamed answers count their full duration), and writes one debug access
/// line with the same fields. Outermost middleware: it sees the status and request id the
/// error middleware chose.
struct RequestMetricsMiddleware: RouterMiddleware {
    typealias Context = AirlockRequestContext
    let metrics: GatewayMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let method = request.method.rawValue
        do {
            var response = try await next(request, context)
            let status = Int(response.status.code)
            // Read after `next`: the router has matched the path by now (nil when nothing matched).
            let route = context.endpointPath
            let metrics = self.metrics
            var finalLogger = context.logger
            // The error middleware may have adopted the client's id; the header has the final one.
            if let id = response.headers.value(.requestID), id != context.requestID { finalLogger[metadataKey: "request_id"] = .string(id) }
            let logger = finalLogger
            let body = response.body
            // Counted once the body has been written, so the client does not wait for the
            // bookkeeping. A whole answer still leaves in one write: `ChannelResponseWriter`
            // flushes a body of known length only at its end (Hummingbird's own server, the
            // `AIRLOCK_HTTP_SERVER=hummingbird` fallback, writes such a body in two).
            response.body = ResponseBody(contentLength: body.contentLength) { writer in
                do {
                    try await body.write(writer)
                } catch {
                    Self.finish(metrics, logger, route: route, method: method, status: status, start: start, complete: false)
                    throw error
                }
                Self.finish(metrics, logger, route: route, method: method, status: status, start: start, complete: true)
            }
            return response
        } catch {
            // Only reached if something escapes the error middleware.
            let status = (error as? any HTTPResponseError).map { Int($0.status.code) } ?? 500
            Self.finish(metrics, context.logger, route: context.endpointPath, method: method, status: status, start: start, complete: false)
            throw error
        }
    }

    static func finish(_ metrics: GatewayMetrics, _ logger: Logger, route: String?, method: String, status: Int,
                       start: ContinuousClock.Instant, complete: Bool) {
        let seconds = GatewayMetrics.seconds(.now - start)
        metrics.request(route: route, method: method, status: status, seconds: seconds)
        // Route template and method only, never the path or query: they can carry user text.
        logger.debug("request finished", metadata: [
            "route": .string(GatewayMetrics.route(route)), "method": .string(GatewayMetrics.method(method)),
            "status": "\(status)", "duration_ms": "\(Int(seconds * 1000))", "complete": "\(complete)",
        ])
    }
}
