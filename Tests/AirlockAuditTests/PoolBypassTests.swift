import AirlockCore
import AirlockStore
import Foundation
import NIOCore
import NIOPosix
import PostgresNIO
import Synchronization
import Testing
@testable import AirlockAudit

/// After a long outage the writer's pool reconnects only on its backoff schedule (up to 60 s
/// apart); the writer then works over a connection of its own. Here the pool can never
/// connect (it points at a closed port), so everything that reaches the database went around it.
@Suite("Pool bypass")
struct PoolBypassTests {
    struct Refused: Error {}

    static func deadPool() async throws -> PostgresClient {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).get()
        let port = channel.localAddress!.port!
        try await channel.close()
        var quiet = TestDatabase.logger
        quiet.logLevel = .critical  // its failed connection attempts are the point
        let url = try DatabaseURL(parsing: "postgres://airlock@127.0.0.1:\(port)/airlock")
        return PostgresClient(configuration: url.clientConfiguration, backgroundLogger: quiet)
    }

    /// Waits until `done` holds; returns how long that took, or nil after `limit`.
    static func waitFor(_ limit: Duration, _ done: () -> Bool) async throws -> Duration? {
        let start = ContinuousClock.now
        while ContinuousClock.now - start < limit {
            if done() { return ContinuousClock.now - start }
            try await Task.sleep(for: .milliseconds(20))
        }
        return nil
    }

    /// Writes, spools while its own connection is gone too, then replays once that connection
    /// can be opened again: all without the pool ever answering. Outcomes only, no timings: the
    /// suite runs beside CPU-heavy tests on two cores, where any deadline can pass (the e2e test
    /// and BENCHMARKS report how fast this is).
    @Test(.enabled(if: TestDatabase.available, "set AIRLOCK_TEST_DATABASE_URL to run database tests"), .timeLimit(.minutes(2)))
    func aWriterWhosePoolCannotConnectWritesAndReplaysOverItsOwnConnection() async throws {
        try await TestDatabase.withFreshDatabase { client, url in
            let pool = try await Self.deadPool()
            let databaseUp = Atomic<Bool>(true)
            let opened = LockedBox<[PostgresConnection]>([])
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bypass-\(UUID().uuidString)").path
            var config = AuditWriterConfiguration(chainID: "bypass", spoolDirectory: dir)
            config.databaseTimeout = .seconds(1)
            config.durableTimeout = .seconds(60)
            config.replayRetryInterval = .milliseconds(300)
            config.openConnection = {
                guard databaseUp.load(ordering: .relaxed) else { throw Refused() }
                let connection = try await url.openFreshConnection(timeout: .seconds(10), logger: TestDatabase.logger)
                opened.withLock { $0.append(connection) }
                return connection
            }
            let writer = AuditWriter(client: pool, configuration: config, logger: TestDatabase.logger)
            let inDatabase: @Sendable (AuditWriter) -> Bool = { $0.stats.spoolPending == 0 && $0.stats.databaseHealthy && $0.stats.queueDepth == 0 }
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await pool.run() }
                defer { group.cancelAll() }
                try await withWriter(writer) { w in
                    // The pool fails its first operation; everything after goes around it.
                    for i in 0..<5 { try await w.recordDurably(sampleEvent(i: i)) }
                    #expect(try await Self.waitFor(.seconds(60)) { inDatabase(w) && w.stats.poolBypassed } != nil)
                    #expect(w.stats.written + w.stats.replayed == 5)

                    // Its connection lost and no new one to be had: durable in the spool.
                    databaseUp.store(false, ordering: .relaxed)
                    for connection in opened.withLock({ $0 }) { try await connection.close() }
                    let spooledBefore = w.stats.spooled
                    for i in 5..<10 { try await w.recordDurably(sampleEvent(i: i)) }
                    #expect(w.stats.spooled - spooledBefore == 5)
                    #expect(!inDatabase(w))

                    // Connections can be opened again: replayed, the pool still dead.
                    databaseUp.store(true, ordering: .relaxed)
                    #expect(try await Self.waitFor(.seconds(60)) { inDatabase(w) } != nil)
                    for i in 10..<15 { try await w.recordDurably(sampleEvent(i: i)) }
                    #expect(try await Self.waitFor(.seconds(60)) { inDatabase(w) } != nil)
                }
            }
            let stats = writer.stats
            #expect(stats.written + stats.replayed == 15 && stats.replayed >= 5 && stats.failed == 0)
            #expect(try await TestDatabase.scalar(client, "SELECT count(DISTINCT seq) FROM audit_events WHERE chain_id = 'bypass'") == 15)
            #expect(try await ChainVerifier(client: client, logger: TestDatabase.logger, checkpointKey: nil).verify().ok)
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty)
        }
    }

    /// A connection that does not open within the caller's deadline (a frozen server) does not
    /// hold the writer longer: the caller gets a timeout, and the next caller the same opening.
    @Test func aSlowOpeningOutlivesItsCallerAndIsPickedUpByTheNext() async throws {
        let opens = Atomic<Int>(0)
        let release = Atomic<Bool>(false)
        var bypass = PoolBypass(open: {
            opens.add(1, ordering: .relaxed)
            while !release.load(ordering: .relaxed) { try await Task.sleep(for: .milliseconds(10)) }
            throw Refused()
        }, poolAnswers: { false }, executor: nil, logger: TestDatabase.logger)
        bypass.poolFailed(with: TimeoutError())
        // The opening cannot finish before it is released: only the deadline ends this call.
        await #expect(throws: TimeoutError.self) { _ = try await bypass.openedConnection(within: .milliseconds(100)) }
        release.store(true, ordering: .relaxed)
        await #expect(throws: Refused.self) { _ = try await bypass.openedConnection(within: .seconds(60)) }
        #expect(opens.load(ordering: .relaxed) == 1)
        await #expect(throws: Refused.self) { _ = try await bypass.openedConnection(within: .seconds(60)) }
        #expect(opens.load(ordering: .relaxed) == 2, "a failed opening is not reused")
        await bypass.close()
    }

    /// Only a failure to reach the server starts the bypass, the pool is asked at most once a
    /// second, and the bypass ends once the pool answers again.
    @Test func theBypassEndsWhenThePoolAnswersAgain() async throws {
        let poolUp = Atomic<Bool>(false)
        let probes = Atomic<Int>(0)
        var bypass = PoolBypass(open: { throw Refused() }, poolAnswers: {
            probes.add(1, ordering: .relaxed)
            return poolUp.load(ordering: .relaxed)
        }, executor: nil, logger: TestDatabase.logger)
        bypass.poolFailed(with: AirlockError(.auditUnavailable, "another writer on this chain"))
        #expect(!bypass.active, "an error the server sent came through a working connection")
        bypass.poolFailed(with: TimeoutError())
        #expect(bypass.active)
        await #expect(throws: Refused.self) { _ = try await bypass.openedConnection(within: .seconds(60)) }

        let start = ContinuousClock.now
        while ContinuousClock.now - start < .milliseconds(2500) {
            bypass.checkPool()
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(bypass.active)
        #expect(probes.load(ordering: .relaxed) <= 3, "\(probes.load(ordering: .relaxed)) probes in 2.5 s")

        poolUp.store(true, ordering: .relaxed)
        let ended = try await Self.waitFor(.seconds(60)) {
            bypass.checkPool()
            return !bypass.active
        }
        #expect(ended != nil)
        #expect(probes.load(ordering: .relaxed) >= 1)
    }
}
