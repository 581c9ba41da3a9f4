import AirlockAudit
import Logging
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// Ready means: migrations applied and the database answered within the last probe.
/// Probed once a second off the request path, so `/readyz` costs nothing.
///
/// The probe asks the pool first. When the pool cannot answer, `freshCheck` (a connection of
/// its own) tells a database that is down from one that is back while the pool still waits
/// out its reconnect backoff (up to 60 s after a long outage); in the latter case the
/// database is up but `isPoolUp` is false, and governance reloads bypass the pool.
public final class Readiness: Service, Sendable {
    let client: PostgresClient?
    let logger: Logger
    let freshCheck: (@Sendable () async -> Bool)?
    private let databaseUp = Atomic<Bool>(false)
    private let poolUp = Atomic<Bool>(true)
    private let migrated = Atomic<Bool>(false)

    public init(client: PostgresClient?, logger: Logger, freshCheck: (@Sendable () async -> Bool)? = nil) {
        self.client = client
        self.logger = logger
        self.freshCheck = freshCheck
    }

    public var isReady: Bool { databaseUp.load(ordering: .relaxed) && migrated.load(ordering: .relaxed) }
    public var isDatabaseUp: Bool { databaseUp.load(ordering: .relaxed) }
    /// The pool answered the last probe (true until a probe says otherwise).
    public var isPoolUp: Bool { poolUp.load(ordering: .relaxed) }

    public func markMigrated() { migrated.store(true, ordering: .relaxed) }
    public func markDatabase(up: Bool) { databaseUp.store(up, ordering: .relaxed) }

    public func run() async throws {
        guard let client else { return }
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            // A pool that failed the last probe is asked only briefly: it reconnects on its
            // own schedule, and meanwhile the fresh check answers.
            let pool = await Self.answers(client, within: isPoolUp || freshCheck == nil ? .seconds(2) : .milliseconds(250), logger: logger)
            var up = pool
            if !pool, let freshCheck { up = await freshCheck() }
            if up != isDatabaseUp {
                logger.notice(up ? "database reachable" : "database unreachable", metadata: up ? ["pool": .string(pool ? "up" : "reconnecting")] : [:])
            } else if up, pool, !isPoolUp {
                logger.notice("database pool reconnected")
            }
            poolUp.store(pool, ordering: .relaxed)
            markDatabase(up: up)
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(1)) }
        }
    }

    static func answers(_ client: PostgresClient, within timeout: Duration, logger: Logger) async -> Bool {
        do {
            // Abandoned, not awaited, after the timeout: a task group would wait for a query
            // stuck on a dead connection, and with it the whole shutdown.
            return try await withTimeout(timeout) {
                for try await _ in try await client.query("SELECT 1", logger: logger) {}
                return true
            }
        } catch {
            return false
        }
    }
}
