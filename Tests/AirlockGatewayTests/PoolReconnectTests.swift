import AirlockStore
import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgresNIO
import Synchronization
import Testing
@testable import AirlockGateway

/// After a long outage PostgresNIO's pool reconnects only on its backoff schedule (up to 60 s
/// apart). Readiness tells that state apart with a fresh connection, and governance reloads
/// then bypass the pool. Here the pool can never connect: it points at a closed port.
@Suite struct PoolReconnectTests {
    static let logger: Logger = {
        var logger = Logger(label: "pool-reconnect-tests")
        logger.logLevel = .error  // the dead pool's connection failures are expected
        return logger
    }()

    static func closedPort() async throws -> Int {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).get()
        let port = channel.localAddress!.port!
        try await channel.close()
        return port
    }

    static func deadPool(logger: Logger) async throws -> (PostgresClient, DatabaseURL) {
        let url = try DatabaseURL(parsing: "postgres://airlock@127.0.0.1:\(try await closedPort())/airlock")
        return (PostgresClient(configuration: url.clientConfiguration, backgroundLogger: logger), url)
    }

    /// Runs `readiness` and its pool (`running`) until `done` holds (at most 30 s); returns whether it did.
    static func probe(_ readiness: Readiness, running: @escaping @Sendable () async -> Void, until done: @escaping @Sendable () -> Bool) async -> Bool {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await running() }
            group.addTask { try? await readiness.run() }
            defer { group.cancelAll() }
            let deadline = ContinuousClock.now + .seconds(30)
            while ContinuousClock.now < deadline {
                if done() { return true }
                try? await Task.sleep(for: .milliseconds(50))
            }
            return false
        }
    }

    /// The pool never answers here. A database that answers a fresh connection is up while the
    /// pool reconnects; one that answers neither is down.
    @Test(arguments: [true, false])
    func readinessAsksAFreshConnectionWhenThePoolFails(freshAnswers: Bool) async throws {
        let logger = Self.logger
        let (pool, _) = try await Self.deadPool(logger: logger)
        let checks = Atomic<Int>(0)
        let readiness = Readiness(pool: RenewablePool(client: pool, logger: logger), logger: logger) { checks.add(1, ordering: .relaxed); return freshAnswers }
        readiness.markMigrated()
        #expect(await Self.probe(readiness, running: { await pool.run() }) { checks.load(ordering: .relaxed) >= 2 })
        #expect(readiness.isReady == freshAnswers && readiness.isDatabaseUp == freshAnswers && !readiness.isPoolUp)
    }

    /// With the pool not known to work, a reload goes over a fresh connection: against a server
    /// that is gone it fails at once, where the pool would hold the query for its 60 s breaker.
    @Test func aReloadBypassesAPoolThatIsNotUp() async throws {
        let logger = Self.logger
        let (pool, url) = try await Self.deadPool(logger: logger)
        let cache = GovernanceCache(store: { GovernanceStore(client: pool, logger: logger) }, reloadInterval: .seconds(60), maxStale: .seconds(60),
                                    logger: logger, freshConnection: (url, { false }))
        let started = ContinuousClock.now
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await pool.run() }
            defer { group.cancelAll() }
            await #expect(throws: (any Error).self) { try await cache.reload() }
        }
        #expect(ContinuousClock.now - started < .seconds(30))
    }

    static let liveURL = ProcessInfo.processInfo.environment["AIRLOCK_TEST_DATABASE_URL"].flatMap { $0.isEmpty ? nil : $0 }

    /// The database was seen down, then answers a fresh connection while the pool still does
    /// not: the pool is renewed, and the fresh one answers (readiness says the pool is up).
    @Test(.enabled(if: liveURL != nil, "AIRLOCK_TEST_DATABASE_URL is not set"))
    func afterAnOutageAPoolStillWaitingToReconnectIsRenewed() async throws {
        let logger = Self.logger
        let (dead, _) = try await Self.deadPool(logger: logger)
        let live = try DatabaseURL(parsing: Self.liveURL!)
        let pool = RenewablePool(client: dead, renewWith: { PostgresClient(configuration: live.clientConfiguration, backgroundLogger: logger) },
                                 logger: logger)
        let checks = Atomic<Int>(0)
        // The first fresh check finds the database down (the outage), the next ones find it back.
        let readiness = Readiness(pool: pool, logger: logger, renewAfterProbes: 2) { checks.add(1, ordering: .relaxed).oldValue > 0 }
        readiness.markMigrated()
        #expect(await Self.probe(readiness, running: { await pool.run() }) { pool.renewals == 1 && readiness.isPoolUp })
        #expect(pool.renewals == 1 && pool.client !== dead && readiness.isReady)
    }

    /// A pool that fails while the database answers a fresh connection all along is busy, not
    /// reconnecting: it is not renewed (its running queries must not be cut short).
    @Test func aPoolFailingWithoutAnOutageIsNotRenewed() async throws {
        let logger = Self.logger
        let (dead, url) = try await Self.deadPool(logger: logger)
        let pool = RenewablePool(client: dead, renewWith: { PostgresClient(configuration: url.clientConfiguration, backgroundLogger: logger) },
                                 logger: logger)
        let checks = Atomic<Int>(0)
        let readiness = Readiness(pool: pool, logger: logger, renewAfterProbes: 2) { checks.add(1, ordering: .relaxed); return true }
        #expect(await Self.probe(readiness, running: { await pool.run() }) { checks.load(ordering: .relaxed) >= 5 })
        #expect(pool.renewals == 0 && !readiness.isPoolUp && readiness.isDatabaseUp)
    }

    /// When the watch renews: after an outage, once the database has answered `after` probes
    /// in a row without the pool, and not again within `spacing`.
    @Test func theRenewalWatchWaitsForAnOutageThenForTheDatabaseToAnswer() {
        var watch = Readiness.RenewalWatch()
        func step(_ pool: Bool, _ database: Bool, spacing: Duration = .seconds(30)) -> Bool {
            watch.observe(poolAnswered: pool, databaseUp: database, after: 3, spacing: spacing)
        }
        #expect(![step(false, true), step(false, true), step(false, true), step(false, true)].contains(true))  // busy, no outage
        #expect(!step(false, false))  // outage
        #expect([step(false, true), step(false, true), step(false, true)] == [false, false, true])
        #expect(![step(false, true), step(false, true), step(false, true), step(false, true)].contains(true))  // within the spacing
        #expect(!step(true, true))  // the pool answers: the outage is over
        #expect(!step(false, false))
        #expect([step(false, true, spacing: .zero), step(false, true, spacing: .zero), step(false, true, spacing: .zero)] == [false, false, true])
    }

    /// While the database or the pool is away the probe runs four times a second, so whatever
    /// waits for it (console, renewal, `/readyz`) sees the database back within ~0.25 s.
    @Test func theProbeRunsMoreOftenWhileTheDatabaseOrThePoolIsAway() {
        #expect(Readiness.interval(databaseUp: true, poolUp: true) == .seconds(1))
        #expect(Readiness.interval(databaseUp: false, poolUp: false) == .milliseconds(250))
        #expect(Readiness.interval(databaseUp: true, poolUp: false) == .milliseconds(250))
    }

    /// After a long outage the pool's own next attempt is seconds away, so the first probe that
    /// finds the database back renews it; a short outage still gets its 3 probes.
    @Test func aLongOutageRenewsAtTheFirstAnsweringProbe() {
        var watch = Readiness.RenewalWatch()
        let start = ContinuousClock.now
        func step(_ pool: Bool, _ database: Bool, at second: Int) -> Bool {
            watch.observe(poolAnswered: pool, databaseUp: database, after: 3, spacing: .seconds(30), now: start + .seconds(second))
        }
        #expect(!step(true, true, at: 0))
        #expect(![step(false, false, at: 1), step(false, false, at: 2), step(false, false, at: 4)].contains(true))  // 3 s down
        #expect([step(false, true, at: 5), step(false, true, at: 6), step(false, true, at: 7)] == [false, false, true])
        #expect(!step(true, true, at: 8))
        #expect(![step(false, false, at: 10), step(false, false, at: 13), step(false, false, at: 55)].contains(true))  // 45 s down
        #expect(step(false, true, at: 56))
        #expect(!step(false, true, at: 57))  // within the spacing
        #expect(!step(true, true, at: 58))
        // Down for 1 s, up, down again for 1 s: two short outages, not one long one.
        #expect(![step(false, false, at: 100), step(false, false, at: 101), step(false, true, at: 102),
                  step(false, false, at: 103), step(false, false, at: 104)].contains(true))
        #expect([step(false, true, at: 105), step(false, true, at: 106), step(false, true, at: 107)] == [false, false, true])
    }
}
