import AirlockAudit
import AirlockStore
import Logging
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// Ready means: migrations applied and the database answered within the last probe.
/// Probed once a second off the request path (four times a second while the database or the
/// pool is away), so `/readyz` costs nothing.
///
/// The probe asks the pool first. When the pool cannot answer, `freshCheck` (a connection of
/// its own) tells a database that is down from one that is back while the pool still waits
/// out its reconnect backoff (up to 60 s after a long outage); in the latter case the
/// database is up but `isPoolUp` is false, and governance reloads bypass the pool. When that
/// lasts `renewAfterProbes` probes after an outage was seen (one probe after an outage of 5 s
/// or more), the pool is renewed (see `RenewablePool`), so the console, retention and rollups
/// work again within seconds.
public final class Readiness: Service, Sendable {
    let pool: RenewablePool?
    let logger: Logger
    let freshCheck: (@Sendable () async -> Bool)?
    let renewAfterProbes: Int
    let minimumRenewalInterval: Duration
    private let databaseUp = Atomic<Bool>(false)
    private let poolUp = Atomic<Bool>(true)
    private let migrated = Atomic<Bool>(false)

    public init(pool: RenewablePool?, logger: Logger, renewAfterProbes: Int = 3, minimumRenewalInterval: Duration = .seconds(30),
                freshCheck: (@Sendable () async -> Bool)? = nil) {
        self.pool = pool
        self.logger = logger
        self.freshCheck = freshCheck
        self.renewAfterProbes = renewAfterProbes
        self.minimumRenewalInterval = minimumRenewalInterval
    }

    public var isReady: Bool { databaseUp.load(ordering: .relaxed) && migrated.load(ordering: .relaxed) }
    public var isDatabaseUp: Bool { databaseUp.load(ordering: .relaxed) }
    /// The pool answered the last probe (true until a probe says otherwise).
    public var isPoolUp: Bool { poolUp.load(ordering: .relaxed) }
    /// How many times the shared pool was renewed.
    public var poolRenewals: Int { pool?.renewals ?? 0 }

    public func markMigrated() { migrated.store(true, ordering: .relaxed) }
    public func markDatabase(up: Bool) { databaseUp.store(up, ordering: .relaxed) }

    public func run() async throws {
        guard let pool else { return }
        var renewal = RenewalWatch()
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            // A pool that failed the last probe is asked only briefly: it reconnects on its
            // own schedule, and meanwhile the fresh check answers.
            let poolAnswered = await Self.answers(pool.client, within: isPoolUp || freshCheck == nil ? .seconds(2) : .milliseconds(250), logger: logger)
            var up = poolAnswered
            if !poolAnswered, let freshCheck { up = await freshCheck() }
            if up != isDatabaseUp {
                logger.notice(up ? "database reachable" : "database unreachable", metadata: up ? ["pool": .string(poolAnswered ? "up" : "reconnecting")] : [:])
            } else if up, poolAnswered, !isPoolUp {
                logger.notice("database pool reconnected")
            }
            poolUp.store(poolAnswered, ordering: .relaxed)
            markDatabase(up: up)
            if renewal.observe(poolAnswered: poolAnswered, databaseUp: up, after: renewAfterProbes, spacing: minimumRenewalInterval),
               pool.renew(reason: "the database answers but the pool is still waiting out its reconnect backoff") {
                continue  // probe the fresh pool at once
            }
            let pause = Self.interval(databaseUp: up, poolUp: poolAnswered)
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: pause) }
        }
    }

    /// Once a second while all is well. While the database or the pool is away, four times a
    /// second: the console, renewal and `/readyz` wait for the probe that sees it back, and a
    /// refused connection costs next to nothing.
    static func interval(databaseUp: Bool, poolUp: Bool) -> Duration {
        databaseUp && poolUp ? .seconds(1) : .milliseconds(250)
    }

    /// When to renew the pool: only after an outage (a pool that fails while the database
    /// answers a fresh connection all along is busy, not reconnecting, and its queries must
    /// not be cut short), once the database has answered for `after` probes in a row while
    /// the pool did not, and not more often than `spacing`. After an outage of `longOutage` or
    /// more, the first answering probe is enough: the pool's backoff has grown to a good part
    /// of the outage's length by then (~10 s after 45 s), so waiting gains nothing.
    struct RenewalWatch {
        var outageSince: ContinuousClock.Instant?
        var outageLength: Duration = .zero
        var answeringProbes = 0
        var lastRenewal: ContinuousClock.Instant?

        mutating func observe(poolAnswered: Bool, databaseUp: Bool, after probes: Int, spacing: Duration,
                              longOutage: Duration = .seconds(5), now: ContinuousClock.Instant = .now) -> Bool {
            if poolAnswered {
                outageSince = nil
                answeringProbes = 0
                return false
            }
            guard databaseUp else {
                if outageSince == nil || answeringProbes > 0 { outageSince = now }
                outageLength = now - outageSince!
                answeringProbes = 0
                return false
            }
            answeringProbes += 1
            guard outageSince != nil, answeringProbes >= probes || outageLength >= longOutage else { return false }
            if let lastRenewal, now - lastRenewal < spacing { return false }
            lastRenewal = now
            answeringProbes = 0
            return true
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
