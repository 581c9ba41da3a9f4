import AirlockCore
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore

/// Builds the Hummingbird application: routes of the wire contract behind the error
/// middleware that speaks OpenAI's error format.
public enum GatewayApplication {
    public static func makeRouter(services: GatewayServices) -> Router<AirlockRequestContext> {
        let router = Router(context: AirlockRequestContext.self)
        router.add(middleware: RequestMetricsMiddleware(metrics: services.metrics))
        router.add(middleware: OpenAIErrorMiddleware())
        let status = StatusRoutes(services: services)
        let chat = ChatCompletionsRoute(services: services)
        let embeddings = EmbeddingsRoute(services: services)
        router.get("/healthz") { request, context in status.health(request, context: context) }
        router.get("/readyz") { request, context in status.ready(request, context: context) }
        let metrics = MetricsRoute(services: services)
        router.get("/metrics") { request, context in metrics.handle(request, context: context) }
        router.get("/v1/models") { request, context in try status.models(request, context: context) }
        router.post("/v1/chat/completions") { request, context in try await chat.handle(request, context: context) }
        router.post("/v1/embeddings") { request, context in try await embeddings.handle(request, context: context) }
        let admin = AdminRoutes(services: services)
        router.post("/admin/v1/explain") { request, context in try await admin.explain(request, context: context) }
        if let console = services.console { ConsoleRoutes(services: services, deps: console).register(on: router) }
        return router
    }

    public static func make(services: GatewayServices, logger: Logger) throws -> some ApplicationProtocol {
        let c = services.configuration
        let tls = try ListenerTLS.configuration(c.listen)
        let idleTimeout = Duration.milliseconds(Int64(c.limits.idleTimeoutSeconds * 1000))
        let serverName = "airlock"
        let responder = makeRouter(services: services).buildResponder()
        // Hummingbird's own per-connection loop stays available for comparison (BENCHMARKS.md).
        let http1 = services.environment["AIRLOCK_HTTP_SERVER"] == "hummingbird"
            ? HTTPServerBuilder.http1(configuration: .init(idleTimeout: TimeAmount(idleTimeout)))
            : DirectHTTP1Channel.builder(responder: responder, idleTimeout: idleTimeout, connections: services.connections, serverName: serverName)
        return Application(
            responder: responder,
            server: try tls.map { try .tls(http1, tlsConfiguration: $0) } ?? http1,
            configuration: .init(address: .hostname(c.listen.host, port: c.listen.port), serverName: serverName),
            logger: logger
        )
    }
}
