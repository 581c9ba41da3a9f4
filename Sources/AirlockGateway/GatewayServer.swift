import AirlockAudit
import AirlockCore
import AirlockEngine
import AirlockPolicy
import AirlockStore
import AirlockUpstream
import Foundation
import Hummingbird
import Logging
import PostgresNIO
import ServiceLifecycle

/// `airlock serve`: database (managed or external) → migrations → HTTP server, all under
/// one ServiceGroup so SIGTERM/SIGINT drain in-flight requests before exit.
public enum GatewayServer {
    public static func run(configuration: GatewayConfiguration, logger: Logger,
                           environment: [String: String] = ProcessInfo.processInfo.environment) async throws {
        let database = try await DatabaseSetup.open(configuration: configuration.database, logger: logger)
        do {
            try await serve(configuration: configuration, database: database, logger: logger, environment: environment)
        } catch {
            await database.close(logger: logger, owner: true)
            throw error
        }
        await database.close(logger: logger, owner: true)
    }

    static func serve(configuration: GatewayConfiguration, database: DatabaseSetup, logger: Logger, environment: [String: String]) async throws {
        // The shared pool (readiness, policies, console, retention, rollups) is renewed when it
        // waits out a reconnect backoff after an outage; the audit writer has a pool of its own
        // and its own way around that wait (`PoolBypass`).
        let pool = RenewablePool(client: database.client, renewWith: { [url = database.url, size = configuration.database.poolSize] in
            DatabaseSetup.makeClient(url, poolSize: size, logger: logger)
        }, logger: logger)
        let timeouts = UpstreamClient.Timeouts(
            connect: .milliseconds(Int64(configuration.upstream.connectTimeoutSeconds * 1000)),
            read: .milliseconds(Int64(configuration.upstream.readTimeoutSeconds * 1000)),
            total: .milliseconds(Int64(configuration.upstream.requestTimeoutSeconds * 1000)))
        let httpClient = UpstreamClient.makeHTTPClient(timeouts: timeouts)
        defer { Task { try? await httpClient.shutdown() } }
        // Whole answers from plain-http providers stay on the client connection's loop
        // (`AIRLOCK_UPSTREAM_PINNED=off` sends everything through AsyncHTTPClient, for A/B runs).
        let pinned = environment["AIRLOCK_UPSTREAM_PINNED"] == "off" ? nil : PinnedConnectionPool()
        defer { pinned?.shutdown() }
        let readiness = Readiness(pool: pool, logger: logger) { [url = database.url] in
            await url.answersQueries(within: .seconds(1), logger: logger)
        }
        let governance = GovernanceCache(store: { GovernanceStore(client: pool.client, logger: logger) },
                                         reloadInterval: .milliseconds(Int64(configuration.governance.reloadSeconds * 1000)),
                                         maxStale: .milliseconds(Int64(configuration.governance.maxStaleSeconds * 1000)), logger: logger,
                                         freshConnection: (database.url, { readiness.isPoolUp }))
        let listener = try PolicyChangeListener(url: database.url, logger: logger) { _ in governance.invalidate() }
        let keys = try GatewayKeys.load(configuration: configuration, environment: environment, logger: logger)
        // One chain (and spool) per instance: host and port tell instances on one machine apart
        // and stay the same across restarts, so a spool is replayed onto its own chain.
        let chainID = configuration.audit.chainID ?? "\(AuditWriterConfiguration.defaultChainID())-\(configuration.listen.port)"
        let auditThread = try await auditWriterThread(environment: environment, logger: logger)
        let auditClient = DatabaseSetup.makeClient(database.url, poolSize: 2, eventLoopGroup: auditThread?.group ?? PostgresClient.defaultEventLoopGroup,
                                                   logger: logger)
        var auditConfiguration = auditWriterConfiguration(configuration.audit, chainID: chainID, keys: keys)
        auditConfiguration.serverGone = { [url = database.url] in await url.refusesConnections(within: .seconds(1), logger: logger) }
        auditConfiguration.openConnection = { [url = database.url, loop = auditThread?.loop] in
            try await url.openFreshConnection(timeout: .seconds(1), on: loop, logger: logger)
        }
        let audit = AuditWriter(client: auditClient, configuration: auditConfiguration, logger: logger, thread: auditThread)
        let defaultPolicy = try DefaultPolicy.load(configuration.defaultPolicy)
        let defaultRetention = RetentionRules.Days(defaultPolicy.retention)
        let retention = RetentionScheduler(pool: pool, logger: logger, checkpointKey: keys.checkpoint,
                                           interval: .milliseconds(Int64(configuration.audit.retentionIntervalSeconds * 1000))) {
            try RetentionRules.from(snapshot: governance.current(), defaults: defaultRetention)
        }
        let engine = LocalEngineLoader.load(configuration.local, logger: logger)
        var services = GatewayServices(configuration: configuration, upstream: UpstreamClient(httpClient: httpClient, timeouts: timeouts, pinned: pinned,
                                                                                                  maxResponseBytes: configuration.upstream.maxResponseBytes),
                                       readiness: readiness, governance: governance, audit: audit, localEngine: engine,
                                       defaultPolicy: defaultPolicy, fingerprintKey: keys.fingerprint, environment: environment,
                                       metrics: .process)
        services.console = ConsoleDependencies(pool: pool, checkpointKey: keys.checkpoint, payloadKey: keys.payload, environment: environment)
        let application = try GatewayApplication.make(services: services, logger: logger)
        // The pool runs outside the service group (every service needs it until it has stopped)
        // and unstructured, so closing it can be bounded: a connection that never answers its
        // close must not keep a stopped gateway from exiting.
        let poolRun = Task { await pool.run() }
        let auditPoolRun = Task(executorPreference: auditThread?.executor) { await auditClient.run() }
        do {
            // Migrate and load policies before listening: a changed migration must stop startup.
            try await Migrator(client: pool.client, logger: logger).migrate(Migration.load(from: Migration.defaultDirectory()))
            readiness.markMigrated()
            try await governance.reload()
            // Stopped in reverse order: the HTTP server drains first, the audit writer flushes last.
            let named: [(String, any Service)] = [("audit writer", audit), ("governance cache", governance), ("policy listener", listener),
                                                  ("retention scheduler", retention), ("audit rollups", AuditRollupService(pool: pool, logger: logger)),
                                                  ("readiness probe", readiness), ("http server", application)]
            var groupConfig = ServiceGroupConfiguration(
                services: named.map { .init(service: NamedService(name: $0.0, service: $0.1, logger: logger)) },
                gracefulShutdownSignals: [.sigterm, .sigint],
                cancellationSignals: [],
                logger: logger)
            groupConfig.maximumGracefulShutdownDuration = .milliseconds(Int64(configuration.shutdownGraceSeconds * 1000))
            groupConfig.maximumCancellationDuration = .seconds(5)
            logger.info("airlock listening", metadata: ["address": .string("\(configuration.listen.host):\(configuration.listen.port)"),
                                                        "tls": .stringConvertible(configuration.listen.usesTLS),
                                                        "max_connections": .stringConvertible(services.connections.limit),
                                                        "max_connections_per_client": .string(services.connections.perClient.map(String.init) ?? "none")])
            try await ServiceGroup(configuration: groupConfig).run()
        } catch {
            await close(pool: poolRun, logger: logger)
            await close(pool: auditPoolRun, logger: logger)
            await auditThread?.shutdown()
            throw error
        }
        engine?.shutdown()
        await close(pool: poolRun, logger: logger)
        await close(pool: auditPoolRun, logger: logger)
        await auditThread?.shutdown()
        logger.info("airlock stopped")
    }

    /// Where the audit writer runs (`AIRLOCK_AUDIT_THREAD`). By default on the request loops.
    /// `idle`: on a thread of its own at the idle policy, with its own connections on that
    /// thread's loop, so requests preempt its batches; that needs the right to boost the thread
    /// back when it falls behind, and without it the writer stays on the request loops. With a
    /// 50 ms boost age it raised the personal-data call's p99 past 2 ms split (thirteenth
    /// session); at 10 ms it beat the default in the lab but not in one full comparison run
    /// (fourteenth session, BENCHMARKS.md), so it is not the default yet. `normal`: its own
    /// thread at the normal policy (measured slower).
    static func auditWriterThread(environment: [String: String], logger: Logger) async throws -> BackgroundThread? {
        switch environment["AIRLOCK_AUDIT_THREAD"] {
        case "idle":
            guard BackgroundThread.mayLeaveIdlePolicy() else {
                logger.notice("audit writer shares the request threads: its idle-policy thread needs CAP_SYS_NICE or RLIMIT_NICE >= 20 (systemd LimitNICE=+0)")
                return nil
            }
            return try await BackgroundThread.start(idle: true)
        case "normal":
            return try await BackgroundThread.start(idle: false)
        default:
            return nil
        }
    }

    /// The audit writer's settings from the `audit` section: its spool folder is per chain.
    static func auditWriterConfiguration(_ audit: GatewayConfiguration.Audit, chainID: String, keys: GatewayKeys) -> AuditWriterConfiguration {
        var writer = AuditWriterConfiguration(chainID: chainID, spoolDirectory: audit.spoolDirectory + "/" + chainID,
                                              checkpointKey: keys.checkpoint, payloadKey: keys.payload)
        writer.journal = audit.journal
        writer.batchLinger = .microseconds(Int64((audit.effectiveBatchLingerMilliseconds * 1000).rounded()))
        // PostgreSQL shares the host's CPUs with providers and clients: small COPYs are paced.
        writer.copyPacing = .standard
        return writer
    }

    /// Cancelling the pool's run force-closes its connections; waits at most `limit` for that.
    static func close(pool: Task<Void, Never>, logger: Logger, limit: Duration = .seconds(3)) async {
        pool.cancel()
        do {
            try await withTimeout(limit) { await pool.value }
        } catch {
            logger.warning("database connections did not close in time; exiting without them", metadata: ["waited": "\(limit)"])
        }
    }
}

/// The database the gateway uses: an external server from the URL, or a managed local one
/// it starts (and stops again on the way out).
public struct DatabaseSetup: Sendable {
    public let url: DatabaseURL
    public let client: PostgresClient
    let managed: ManagedPostgres?
    let startedManaged: Bool

    public static func open(configuration: GatewayConfiguration.Database, logger: Logger) async throws -> DatabaseSetup {
        if let text = configuration.url {
            let url = try DatabaseURL(parsing: text)
            logger.info("using external PostgreSQL", metadata: ["database": .string(url.description)])
            return DatabaseSetup(url: url, client: makeClient(url, poolSize: configuration.poolSize, logger: logger), managed: nil, startedManaged: false)
        }
        let managed = try ManagedPostgres(rootDirectory: configuration.managedDirectory, databaseName: configuration.managedDatabase)
        let started = try await managed.start(logger: logger)
        return DatabaseSetup(url: managed.url, client: makeClient(managed.url, poolSize: configuration.poolSize, logger: logger),
                             managed: managed, startedManaged: started)
    }

    static func makeClient(_ url: DatabaseURL, poolSize: Int, eventLoopGroup: any EventLoopGroup = PostgresClient.defaultEventLoopGroup,
                           logger: Logger) -> PostgresClient {
        var config = url.clientConfiguration
        config.options.maximumConnections = max(2, poolSize)
        config.options.connectTimeout = .seconds(5)
        // The pool arms a keep-alive timer (and, beyond `minimumConnections`, an idle timer)
        // every time a connection goes back idle: a task group and a Dispatch timer per audit
        // batch, i.e. every few calls at low rates. Dead connections are found on use instead
        // (the audit writer spools and retries, reloads retry; readiness probes once a second).
        config.options.keepAliveBehavior = nil
        config.options.minimumConnections = 1
        return PostgresClient(configuration: config, eventLoopGroup: eventLoopGroup, backgroundLogger: logger)
    }

    /// Stops the managed server if this process started it, or always when `owner` (the
    /// serving gateway owns its managed database, even one a crashed run left behind).
    public func close(logger: Logger, owner: Bool = false) async {
        guard let managed, startedManaged || owner else { return }
        do { try managed.stop(logger: logger) } catch {
            logger.error("could not stop managed PostgreSQL", metadata: ["error": .string("\(error)")])
        }
    }
}

extension DatabaseSetup {
    /// Runs `body` while the client's connection pool is running.
    public func withRunningClient<T: Sendable>(_ body: @Sendable (PostgresClient) async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            return try await body(client)
        }
    }
}
