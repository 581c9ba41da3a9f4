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

    /// Writes, spools while its own connection is gone too, then replays as soon as that
    /// connection can be opened again: all without the pool ever answering.
    @Test(.enabled(if: TestDatabase.available, "set AIRLOCK_TEST_DATABASE_URL to run database tests"), .timeLimit(.minutes(1)))
    func aWriterWhosePoolCannotConnectWritesAndReplaysOverItsOwnConnection() async throws {
        try await TestDatabase.withFreshDatabase { client, url in
            let pool = try await Self.deadPool()
            let databaseUp = Atomic<Bool>(true)
            let opened = LockedBox<[PostgresConnection]>([])
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bypass-\(UUID().uuidString)").path
            var config = AuditWriterConfiguration(chainID: "bypass", spoolDirectory: dir)
            config.databaseTimeout = .seconds(1)
            config.replayRetryInterval = .milliseconds(300)
            config.openConnection = {
                guard databaseUp.load(ordering: .relaxed) else { throw Refused() }
                let connection = try await url.openFreshConnection(timeout: .seconds(1), logger: TestDatabase.logger)
                opened.withLock { $0.append(connection) }
                return connection
            }
            let writer = AuditWriter(client: pool, configuration: config, logger: TestDatabase.logger)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await pool.run() }
                defer { group.cancelAll() }
                try await withWriter(writer) { w in
                    // The pool fails its first operation; everything after goes around it.
                    for i in 0..<5 { try await w.recordDurably(sampleEvent(i: i)) }
                    #expect(w.stats.written == 5 && w.stats.spooled == 0)
                    #expect(try await Self.waitFor(.seconds(2)) { w.stats.poolBypassed } != nil)

                    // Its connection lost and no new one to be had: durable in the spool.
                    databaseUp.store(false, ordering: .relaxed)
                    for connection in opened.withLock({ $0 }) { try await connection.close() }
                    for i in 5..<10 { try await w.recordDurably(sampleEvent(i: i)) }
                    #expect(w.stats.spooled == 5)
                    #expect(try await Self.waitFor(.seconds(2)) { w.stats.spoolPending == 5 } != nil)

                    // Connections can be opened again: replayed without waiting for the pool.
                    databaseUp.store(true, ordering: .relaxed)
                    let took = try await Self.waitFor(.seconds(10)) { w.stats.spoolPending == 0 && w.stats.databaseHealthy }
                    #expect(took != nil && took! < .seconds(3), "replayed after \(String(describing: took))")
                    for i in 10..<15 { try await w.recordDurably(sampleEvent(i: i)) }
                }
            }
            let stats = writer.stats
            #expect(stats.replayed == 5 && stats.written == 10 && stats.failed == 0)
            #expect(try await TestDatabase.scalar(client, "SELECT count(DISTINCT seq) FROM audit_events WHERE chain_id = 'bypass'") == 15)
            #expect(try await ChainVerifier(client: client, logger: TestDatabase.logger, checkpointKey: nil).verify().ok)
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty)
        }
    }

    /// A connection that does not open within the caller's deadline (a frozen server) does not
    /// hold the writer longer: the caller gets a timeout, and the next caller the same opening.
    @Test func aSlowOpeningOutlivesItsCallerAndIsPickedUpByTheNext() async throws {
        let opens = Atomic<Int>(0)
        var bypass = PoolBypass(open: {
            opens.add(1, ordering: .relaxed)
            try await Task.sleep(for: .milliseconds(600))
            throw Refused()
        }, poolAnswers: { false }, executor: nil, logger: TestDatabase.logger)
        bypass.poolFailed(with: TimeoutError())
        let start = ContinuousClock.now
        await #expect(throws: TimeoutError.self) { _ = try await bypass.openedConnection(within: .milliseconds(100)) }
        #expect(ContinuousClock.now - start < .milliseconds(500))
        await #expect(throws: Refused.self) { _ = try await bypass.openedConnection(within: .seconds(2)) }
        #expect(opens.load(ordering: .relaxed) == 1)
        await #expect(throws: Refused.self) { _ = try await bypass.openedConnection(within: .seconds(2)) }
        #expect(opens.load(ordering: .relaxed) == 2, "a failed opening is not reused")
        await bypass.close()
    }

    /// Only a failure to reach the server starts the bypass, and it ends once the pool answers
    /// a background probe again (its connection closed).
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
        await #expect(throws: Refused.self) { _ = try await bypass.openedConnection(within: .seconds(1)) }

        // Probed at most once a second while the pool does not answer.
        let start = ContinuousClock.now
        while ContinuousClock.now - start < .milliseconds(2500) {
            bypass.checkPool()
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(bypass.active)
        #expect((2...3).contains(probes.load(ordering: .relaxed)), "\(probes.load(ordering: .relaxed)) probes")

        poolUp.store(true, ordering: .relaxed)
        let ended = try await Self.waitFor(.seconds(5)) {
            bypass.checkPool()
            return !bypass.active
        }
        #expect(ended != nil)
    }
}
