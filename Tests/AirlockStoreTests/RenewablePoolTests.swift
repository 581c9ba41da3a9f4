import AirlockStore
import Foundation
import Logging
import PostgresNIO
import Testing

/// A renewed pool: the next query goes to the fresh pool, the old one is closed after its
/// grace period (a query still queued on it fails then instead of waiting forever), and
/// stopping closes them all. The "old" pool here can never connect (a closed port), as a
/// pool waiting out its reconnect backoff after an outage.
struct RenewablePoolTests {
    static var logger: Logger {
        var logger = Logger(label: "renewable-pool-tests")
        logger.logLevel = .error  // the dead pool's connection failures are expected
        return logger
    }

    static func deadClient() async throws -> PostgresClient {
        PostgresClient(configuration: try await DatabaseReachabilityTests.closedPortURL().clientConfiguration, backgroundLogger: logger)
    }

    static func selectOne(_ client: PostgresClient) async throws -> Int {
        for try await value in try await client.query("SELECT 1", logger: logger).decode(Int.self) { return value }
        return 0
    }

    @Test(.enabled(if: TestDatabase.isConfigured, TestDatabase.skipReason))
    func aRenewedPoolAnswersWhereTheOldOneCouldNotAndTheOldOneIsClosed() async throws {
        let live = try DatabaseURL(parsing: TestDatabase.urlText!)
        let dead = try await Self.deadClient()
        let pool = RenewablePool(client: dead, renewWith: { PostgresClient(configuration: live.clientConfiguration, backgroundLogger: Self.logger) },
                                 retireAfter: .milliseconds(500), logger: Self.logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await pool.run() }
            defer { group.cancelAll() }
            // A query queued on the old pool before the renewal...
            let stranded = Task { try await Self.selectOne(dead) }
            try await Task.sleep(for: .milliseconds(100))
            #expect(pool.renew(reason: "test"))
            #expect(pool.renewals == 1 && pool.client !== dead)
            #expect(try await Self.selectOne(pool.client) == 1)
            // ...fails once the old pool is closed (after 0.5 s), not when its circuit breaker
            // would have given up (60 s after the first failed attempt).
            let renewed = ContinuousClock.now
            await #expect(throws: (any Error).self) { try await stranded.value }
            #expect(ContinuousClock.now - renewed < .seconds(30))
        }
    }

    @Test func aPoolWithoutAFactoryOrNotRunningIsNotRenewed() async throws {
        let fixed = RenewablePool(client: try await Self.deadClient(), logger: Self.logger)
        #expect(!fixed.renew(reason: "test") && fixed.renewals == 0)
        let closed = try await DatabaseReachabilityTests.closedPortURL()
        let idle = RenewablePool(client: PostgresClient(configuration: closed.clientConfiguration, backgroundLogger: Self.logger),
                                 renewWith: { PostgresClient(configuration: closed.clientConfiguration, backgroundLogger: Self.logger) }, logger: Self.logger)
        #expect(!idle.renew(reason: "not running yet") && idle.renewals == 0)
    }

    /// Stopping the pool closes the current one: a query sent after it fails instead of hanging.
    @Test func stoppingClosesThePool() async throws {
        let closed = try await DatabaseReachabilityTests.closedPortURL()
        let pool = RenewablePool(client: PostgresClient(configuration: closed.clientConfiguration, backgroundLogger: Self.logger),
                                 renewWith: { PostgresClient(configuration: closed.clientConfiguration, backgroundLogger: Self.logger) }, logger: Self.logger)
        let run = Task { await pool.run() }
        try await Task.sleep(for: .milliseconds(100))
        #expect(pool.renew(reason: "test"))
        let current = pool.client
        run.cancel()
        await run.value
        #expect(!pool.renew(reason: "stopped"))
        await #expect(throws: (any Error).self) { try await Self.selectOne(current) }
    }
}
