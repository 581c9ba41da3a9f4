import AirlockCore
import Hummingbird
import NIOCore

/// `GET /metrics`: samples the gauges that are read from live state (audit writer, circuit
/// breakers, policies in force) and renders the registry in Prometheus text format.
struct MetricsRoute: Sendable {
    let services: GatewayServices

    func handle(_ request: Request, context: AirlockRequestContext) -> Response {
        let metrics = services.metrics
        if let audit = services.audit { metrics.sample(audit: audit.stats) }
        metrics.sample(connections: services.connections)
        metrics.sample(executorJobs: ConcurrencyOnEventLoops.jobsEnqueued)
        let readiness = services.readiness
        metrics.sample(databaseReachable: readiness.isDatabaseUp, poolUp: readiness.isPoolUp, poolRenewals: readiness.poolRenewals)
        // Without a fresh snapshot (database gone too long) only configured providers are known.
        if let snapshot = try? services.governance.current() {
            metrics.sample(providers: services.catalog(snapshot).map(\.name), health: services.health.snapshot)
            metrics.sample(policyVersions: snapshot.policies.mapValues(\.version))
        } else {
            metrics.sample(providers: services.configuredProviders.map(\.name), health: services.health.snapshot)
        }
        let text = metrics.render()
        return Response(status: .ok, headers: [.contentType: GatewayMetrics.contentType],
                        body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
