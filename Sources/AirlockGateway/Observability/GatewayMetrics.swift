import AirlockAudit
import AirlockCore
import AirlockPolicy
import Foundation
import Metrics
import Prometheus
import Synchronization

/// Everything `/metrics` shows, behind named methods the pipeline calls.
///
/// Labels come only from closed sets or from identifiers an operator created: route
/// templates, status codes, decisions, entity type names, tenant ids, provider names.
/// Nothing a caller typed (prompts, model names, keys, paths) ever becomes a label, and
/// every label value also passes `label(_:)`, so even a strange tenant id cannot inject
/// text into the exposition format.
public final class GatewayMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry

    /// Counters mirrored from cumulative stats (audit writer) remember what they last saw,
    /// and gauges with per-tenant/per-provider labels remember their label sets, so series
    /// that disappear (a removed tenant) are unregistered instead of lingering.
    struct Sampled: Sendable {
        var audit = AuditWriterStats()
        var spoolPendingSince: ContinuousClock.Instant?
        var policyTenants: Set<String> = []
        var circuitProviders: Set<String> = []
        var poolRenewals = 0
        var connectionsRefused = 0
        var connectionsRefusedForClient = 0
        var executorJobs = 0
    }
    private let sampled = Mutex(Sampled())
    private let requestHandles = BoundedCache<String, (Prometheus.Counter, Prometheus.DurationHistogram)>()
    private let tenantCounters = BoundedCache<String, TenantCallCounters>()
    private let upstreamHandles = BoundedCache<String, (Prometheus.Counter, Prometheus.DurationHistogram)>()

    /// A fresh registry (tests), or the given one.
    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
    }

    /// The process-wide instance: its registry is also the swift-metrics backend, so library
    /// metrics (if any) show on the same page. Bootstrapping happens once per process.
    public static let process: GatewayMetrics = {
        let metrics = GatewayMetrics()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: metrics.registry))
        return metrics
    }()

    // MARK: Names

    /// Computed: `MetricNameDescriptor` is not `Sendable`, so it cannot be a static constant.
    enum Name {
        static var requests: MetricNameDescriptor { .init(namespace: "airlock", metricName: "http_requests", unitName: "total",
                                                   helpText: "HTTP requests by route template, method and status") }
        static var requestDuration: MetricNameDescriptor { .init(namespace: "airlock", metricName: "http_request_duration", unitName: "seconds",
                                                          helpText: "HTTP request latency until the response body is written") }
        static var decisions: MetricNameDescriptor { .init(namespace: "airlock", metricName: "decisions", unitName: "total",
                                                    helpText: "Policy decisions by tenant") }
        static var entities: MetricNameDescriptor { .init(namespace: "airlock", metricName: "entities_detected", unitName: "total",
                                                   helpText: "Detected entities by tenant and entity type (types only, never values)") }
        static var upstreamRequests: MetricNameDescriptor { .init(namespace: "airlock", metricName: "upstream_requests", unitName: "total",
                                                           helpText: "Provider responses by provider and status") }
        static var upstreamDuration: MetricNameDescriptor { .init(namespace: "airlock", metricName: "upstream_request_duration", unitName: "seconds",
                                                           helpText: "Provider latency until response headers, by provider") }
        static var upstreamErrors: MetricNameDescriptor { .init(namespace: "airlock", metricName: "upstream_errors", unitName: "total",
                                                         helpText: "Provider failures (unreachable, timeout, 5xx, 429) by provider and code") }
        static var circuit: MetricNameDescriptor { .init(namespace: "airlock", metricName: "provider_circuit_state", unitName: "",
                                                  helpText: "Circuit state per provider: 0 closed, 1 degraded (half-open), 2 open") }
        static var auditQueue: MetricNameDescriptor { .init(namespace: "airlock", metricName: "audit_queue_depth", unitName: "",
                                                     helpText: "Audit events waiting to be written") }
        static var spoolPending: MetricNameDescriptor { .init(namespace: "airlock", metricName: "audit_spool_pending_records", unitName: "",
                                                       helpText: "Audit events in the local spool, waiting for replay into PostgreSQL") }
        static var replayLag: MetricNameDescriptor { .init(namespace: "airlock", metricName: "audit_spool_replay_lag", unitName: "seconds",
                                                    helpText: "How long the spool has held events not yet replayed (0 when empty; scrape resolution)") }
        static var auditDatabaseUp: MetricNameDescriptor { .init(namespace: "airlock", metricName: "audit_database_healthy", unitName: "",
                                                          helpText: "1 when the audit writer reaches PostgreSQL, else 0") }
        static var auditEvents: MetricNameDescriptor { .init(namespace: "airlock", metricName: "audit_events", unitName: "total",
                                                      helpText: "Audit events by outcome: written, spooled, replayed, failed") }
        static var auditBatches: MetricNameDescriptor { .init(namespace: "airlock", metricName: "audit_batches", unitName: "total",
                                                       helpText: "Database transactions that wrote audit events (events per batch = written / batches)") }
        static var localTokens: MetricNameDescriptor { .init(namespace: "airlock", metricName: "local_engine_generated_tokens", unitName: "total",
                                                      helpText: "Completion tokens generated by the in-process engine") }
        static var localSeconds: MetricNameDescriptor { .init(namespace: "airlock", metricName: "local_engine_generation_seconds", unitName: "total",
                                                       helpText: "Wall time spent answering with the in-process engine (tokens/s = rate(tokens)/rate(seconds))") }
        static var localRate: MetricNameDescriptor { .init(namespace: "airlock", metricName: "local_engine_tokens_per_second", unitName: "",
                                                    helpText: "Per-call generation speed of the in-process engine") }
        static var localInFlight: MetricNameDescriptor { .init(namespace: "airlock", metricName: "local_engine_requests_in_flight", unitName: "",
                                                        helpText: "Calls queued or running on the in-process engine") }
        static var connectionsOpen: MetricNameDescriptor { .init(namespace: "airlock", metricName: "http_connections_open", unitName: "",
                                                                   helpText: "Client connections held by the listener") }
        static var connectionsLimit: MetricNameDescriptor { .init(namespace: "airlock", metricName: "http_connections_limit", unitName: "",
                                                                    helpText: "limits.max_connections in force") }
        static var connectionsRefused: MetricNameDescriptor { .init(namespace: "airlock", metricName: "http_connections_refused", unitName: "total",
                                                                      helpText: "Connections answered 503 and closed at a connection limit") }
        static var connectionsPerClientLimit: MetricNameDescriptor { .init(namespace: "airlock", metricName: "http_connections_per_client_limit", unitName: "",
                                                                             helpText: "limits.max_connections_per_client in force (0: none)") }
        static var connectionsRefusedForClient: MetricNameDescriptor { .init(namespace: "airlock", metricName: "http_connections_refused_per_client", unitName: "total",
                                                                               helpText: "Connections refused because their client address held its limit") }
        static var executorJobs: MetricNameDescriptor { .init(namespace: "airlock", metricName: "concurrency_jobs", unitName: "total",
                                                                helpText: "Jobs Swift concurrency gave the event loops (task starts, resumptions, executor switches)") }
        static var databaseReachable: MetricNameDescriptor { .init(namespace: "airlock", metricName: "database_reachable", unitName: "",
                                                            helpText: "1 when PostgreSQL answered the last readiness probe (over the pool or a fresh connection), else 0") }
        static var databasePoolUp: MetricNameDescriptor { .init(namespace: "airlock", metricName: "database_pool_up", unitName: "",
                                                         helpText: "1 when the shared connection pool answered the last readiness probe, else 0") }
        static var databasePoolRenewals: MetricNameDescriptor { .init(namespace: "airlock", metricName: "database_pool_renewals", unitName: "total",
                                                               helpText: "Times the shared pool was replaced because it still waited out its reconnect backoff after an outage") }
        static var policyVersion: MetricNameDescriptor { .init(namespace: "airlock", metricName: "policy_version", unitName: "",
                                                        helpText: "Active policy version in force per tenant") }
    }

    static let latencyBuckets: [Duration] = [
        .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
        .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10), .seconds(30), .seconds(60), .seconds(120),
    ]
    static let rateBuckets: [Double] = [1, 2, 5, 10, 20, 50, 100, 200, 500]

    // MARK: Recording (request path)

    /// One finished HTTP request. `route` is the router's template (nil for unmatched paths).
    public func request(route: String?, method: String, status: Int, seconds: Double) {
        let (route, method) = (Self.route(route), Self.method(method))
        let (counter, histogram) = requestHandles.value("\(route) \(method) \(status)") {
            let labels = [("route", route), ("method", method), ("status", String(status))]
            return (registry.makeCounter(descriptor: Name.requests, labels: labels),
                    registry.makeDurationHistogram(descriptor: Name.requestDuration, labels: labels, buckets: Self.latencyBuckets))
        }
        counter.increment()
        histogram.record(Self.duration(seconds))
    }

    /// One call's enforced decision and the entity types found in it. The tenant's counters
    /// are looked up once, then by decision and type: building a label key string per entity
    /// type cost ~0.6 µs each, ~5 µs for the personal-data benchmark prompt.
    public func call(tenant: String, decision: AuditEvent.Decision, entities: [EntityType: Int]) {
        let counters = tenantCounters.value(tenant) { TenantCallCounters() }
        counters.decisions.value(decision) {
            registry.makeCounter(descriptor: Name.decisions, labels: [("tenant", Self.label(tenant)), ("decision", Self.label(decision.rawValue))])
        }.increment()
        for (type, count) in entities where count > 0 {
            counters.entities.value(type) {
                registry.makeCounter(descriptor: Name.entities, labels: [("tenant", Self.label(tenant)), ("entity_type", Self.label(type.rawValue))])
            }.increment(by: Int64(count))
        }
    }

    /// A provider answered (any status) after `seconds` to its response headers.
    public func upstream(provider: String, status: Int, seconds: Double) {
        // Every provider call records here: the handles are looked up once per label set.
        let (counter, histogram) = upstreamHandles.value("\(provider)\u{0}\(status)") {
            let p = Self.label(provider)
            return (registry.makeCounter(descriptor: Name.upstreamRequests, labels: [("provider", p), ("status", String(status))]),
                    registry.makeDurationHistogram(descriptor: Name.upstreamDuration, labels: [("provider", p)], buckets: Self.latencyBuckets))
        }
        counter.increment()
        histogram.record(Self.duration(seconds))
    }

    /// A provider failed: an error code (`upstream_error`, `upstream_timeout`) or `status_5xx`/`status_429`.
    public func upstreamError(provider: String, code: String) {
        registry.makeCounter(descriptor: Name.upstreamErrors, labels: [("provider", Self.label(provider)), ("code", Self.label(code))]).increment()
    }

    /// One local-engine answer: completion tokens and the wall time it took.
    public func localGeneration(tokens: Int, seconds: Double) {
        registry.makeCounter(descriptor: Name.localTokens, labels: []).increment(by: Int64(max(0, tokens)))
        registry.makeCounter(descriptor: Name.localSeconds, labels: []).increment(by: max(0, seconds))
        if tokens > 0, seconds > 0 {
            registry.makeValueHistogram(descriptor: Name.localRate, labels: [], buckets: Self.rateBuckets).record(Double(tokens) / seconds)
        }
    }

    /// A local-engine call started (+1) or ended (−1). The engine exposes no queue of its
    /// own, so calls in flight (queued plus running) stand in for its queue length.
    public func localInFlight(_ delta: Int) {
        registry.makeGauge(descriptor: Name.localInFlight, labels: []).increment(by: Double(delta))
    }

    // MARK: Sampling (on scrape)

    /// Audit writer state: queue depth, spool, replay lag, and the cumulative outcome counts.
    public func sample(audit stats: AuditWriterStats, now: ContinuousClock.Instant = .now) {
        registry.makeGauge(descriptor: Name.auditQueue, labels: []).set(to: Double(stats.queueDepth))
        registry.makeGauge(descriptor: Name.spoolPending, labels: []).set(to: Double(stats.spoolPending))
        registry.makeGauge(descriptor: Name.auditDatabaseUp, labels: []).set(to: stats.databaseHealthy ? 1 : 0)
        let (previous, lag): (AuditWriterStats, Double) = sampled.withLock { s in
            let previous = s.audit
            s.audit = stats
            if stats.spoolPending > 0 {
                let since = s.spoolPendingSince ?? now
                s.spoolPendingSince = since
                return (previous, Self.seconds(now - since))
            }
            s.spoolPendingSince = nil
            return (previous, 0)
        }
        registry.makeGauge(descriptor: Name.replayLag, labels: []).set(to: lag)
        for (outcome, now, before) in [("written", stats.written, previous.written), ("spooled", stats.spooled, previous.spooled),
                                       ("replayed", stats.replayed, previous.replayed), ("failed", stats.failed, previous.failed)] {
            // Registered even at zero, so dashboards see the series from the start.
            let counter = registry.makeCounter(descriptor: Name.auditEvents, labels: [("outcome", outcome)])
            if now > before { counter.increment(by: Int64(now - before)) }
        }
        let batches = registry.makeCounter(descriptor: Name.auditBatches, labels: [])
        if stats.batches > previous.batches { batches.increment(by: Int64(stats.batches - previous.batches)) }
    }

    /// What the readiness probe last found: the database, the shared pool, and how often the
    /// pool was renewed.
    public func sample(databaseReachable: Bool, poolUp: Bool, poolRenewals: Int) {
        registry.makeGauge(descriptor: Name.databaseReachable, labels: []).set(to: databaseReachable ? 1 : 0)
        registry.makeGauge(descriptor: Name.databasePoolUp, labels: []).set(to: poolUp ? 1 : 0)
        let previous = sampled.withLock { s in
            defer { s.poolRenewals = max(s.poolRenewals, poolRenewals) }
            return s.poolRenewals
        }
        let renewals = registry.makeCounter(descriptor: Name.databasePoolRenewals, labels: [])
        if poolRenewals > previous { renewals.increment(by: Int64(poolRenewals - previous)) }
    }

    /// Circuit state for every provider in the catalog (0 closed unless the tracker says otherwise).
    public func sample(providers: [String], health: [String: ProviderHealth]) {
        var names = Set(providers.map(Self.label))
        for (name, _) in health { names.insert(Self.label(name)) }
        var byLabel: [String: ProviderHealth] = [:]
        for (name, h) in health { byLabel[Self.label(name)] = h }
        for name in names {
            let value: Double
            switch byLabel[name] ?? .healthy {
            case .healthy: value = 0
            case .degraded: value = 1
            case .unavailable: value = 2
            }
            registry.makeGauge(descriptor: Name.circuit, labels: [("provider", name)]).set(to: value)
        }
        let gone = sampled.withLock { s in
            let gone = s.circuitProviders.subtracting(names)
            s.circuitProviders = names
            return gone
        }
        for name in gone { registry.unregisterGauge(registry.makeGauge(descriptor: Name.circuit, labels: [("provider", name)])) }
    }

    /// Policy version in force per tenant (tenants without a stored policy run the builtin
    /// default and have no series).
    public func sample(policyVersions: [String: Int]) {
        var tenants = Set<String>()
        for (tenant, version) in policyVersions {
            let t = Self.label(tenant)
            tenants.insert(t)
            registry.makeGauge(descriptor: Name.policyVersion, labels: [("tenant", t)]).set(to: Double(version))
        }
        let gone = sampled.withLock { s in
            let gone = s.policyTenants.subtracting(tenants)
            s.policyTenants = tenants
            return gone
        }
        for t in gone { registry.unregisterGauge(registry.makeGauge(descriptor: Name.policyVersion, labels: [("tenant", t)])) }
    }

    /// The listener's connections: open now, the cap, and those refused at it so far.
    func sample(connections: ConnectionLimiter) {
        registry.makeGauge(descriptor: Name.connectionsOpen, labels: []).set(to: Double(connections.openConnections))
        registry.makeGauge(descriptor: Name.connectionsLimit, labels: []).set(to: Double(connections.limit))
        registry.makeGauge(descriptor: Name.connectionsPerClientLimit, labels: []).set(to: Double(connections.perClient ?? 0))
        let refused = connections.refusedConnections, refusedForClient = connections.refusedForClientConnections
        let counter = registry.makeCounter(descriptor: Name.connectionsRefused, labels: [])
        let clientCounter = registry.makeCounter(descriptor: Name.connectionsRefusedForClient, labels: [])
        let (before, beforeForClient) = sampled.withLock { s in
            let before = (s.connectionsRefused, s.connectionsRefusedForClient)
            s.connectionsRefused = refused
            s.connectionsRefusedForClient = refusedForClient
            return before
        }
        if refused > before { counter.increment(by: Int64(refused - before)) }
        if refusedForClient > beforeForClient { clientCounter.increment(by: Int64(refusedForClient - beforeForClient)) }
    }

    /// Jobs run on the event loops as Swift concurrency's global executor (0 while another
    /// executor is in place): a rise per call means awaits hop between executors again.
    func sample(executorJobs jobs: Int) {
        let counter = registry.makeCounter(descriptor: Name.executorJobs, labels: [])
        let before = sampled.withLock { s in
            defer { s.executorJobs = jobs }
            return s.executorJobs
        }
        if jobs > before { counter.increment(by: Int64(jobs - before)) }
    }

    /// The exposition text (format 0.0.4).
    public func render() -> String {
        // Make the always-present gauges exist before the first call touches them.
        _ = registry.makeGauge(descriptor: Name.localInFlight, labels: [])
        return registry.emitToString()
    }

    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    // MARK: Label hygiene

    /// A label value from an identifier: ASCII letters, digits and `_ . : -`, at most 64
    /// bytes; anything else becomes `other`.
    static func label(_ value: String) -> String {
        guard !value.isEmpty, value.utf8.count <= 64 else { return "other" }
        for b in value.utf8 {
            switch b {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: ":"), UInt8(ascii: "-"):
                continue
            default:
                return "other"
            }
        }
        return value
    }

    /// Route templates are the router's own strings; anything unmatched is `other`.
    static func route(_ template: String?) -> String {
        guard let template, template.utf8.first == UInt8(ascii: "/"), template.utf8.count <= 64,
              !template.utf8.contains(UInt8(ascii: "\"")) else { return "other" }
        return template
    }

    static let knownMethods: Set<String> = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
    static func method(_ m: String) -> String { knownMethods.contains(m) ? m : "other" }

    static func duration(_ seconds: Double) -> Duration { .nanoseconds(Int64(max(0, seconds) * 1e9)) }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }
}

/// One tenant's decision and entity counters, keyed by the enums themselves (the registry
/// hands out the same counter for the same labels, so a counter made twice is still one).
final class TenantCallCounters: Sendable {
    let decisions = BoundedCache<AuditEvent.Decision, Prometheus.Counter>()
    let entities = BoundedCache<EntityType, Prometheus.Counter>()
}
