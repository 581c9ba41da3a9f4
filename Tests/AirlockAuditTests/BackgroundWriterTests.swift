import AirlockCore
import AirlockStore
import Foundation
import NIOCore
import PostgresNIO
import Testing
@testable import AirlockAudit

#if canImport(Glibc)
import Glibc
#endif

/// The audit writer on a thread of its own at the idle scheduling policy: the kernel runs a
/// request thread as soon as one wakes instead of letting an audit batch finish first, and the
/// writer gets the normal policy back whenever work waits on it.
@Suite("Audit writer on an idle-policy thread")
struct BackgroundWriterTests {
    static var canSwitch: Bool {
        FileManager.default.fileExists(atPath: "/proc/thread-self/stat") && BackgroundThread.mayLeaveIdlePolicy()
    }

    /// The scheduling policy of the thread `loop` runs on, as the kernel reports it
    /// (field 41 of /proc/thread-self/stat: 0 normal, 5 idle).
    static func kernelPolicy(_ loop: any EventLoop) async throws -> Int {
        try await loop.submit { () -> Int in
            guard let stat = try? String(contentsOfFile: "/proc/thread-self/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return -1 }
            // Fields after the command name, which may hold spaces: state is field 3.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return Int(fields[41 - 3]) ?? -1
        }.get()
    }

    /// A client for writers that are never run (their queue is only filled).
    static func unconnectedClient() -> PostgresClient {
        PostgresClient(configuration: .init(unixSocketPath: "/nonexistent", username: "x", password: nil, database: nil),
                       backgroundLogger: TestDatabase.logger)
    }

    static func writer(_ client: PostgresClient, thread: BackgroundThread, chain: String,
                       configure: (inout AuditWriterConfiguration) -> Void = { _ in }) -> AuditWriter {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("spool-\(UUID().uuidString)").path
        var configuration = AuditWriterConfiguration(chainID: chain, spoolDirectory: dir)
        configure(&configuration)
        return AuditWriter(client: client, configuration: configuration, logger: TestDatabase.logger, thread: thread)
    }

    @Test(.enabled(if: Self.canSwitch, "needs /proc and the right to leave SCHED_IDLE"))
    func threadStartsAtTheIdlePolicyAndSwitches() async throws {
        let thread = try await BackgroundThread.start(idle: true)
        #expect(try await Self.kernelPolicy(thread.loop) == 5)
        thread.boost()
        #expect(try await Self.kernelPolicy(thread.loop) == 0)
        #expect(!thread.isIdlePolicy)
        thread.relax()
        #expect(try await Self.kernelPolicy(thread.loop) == 5)
        await thread.shutdown()

        let normal = try await BackgroundThread.start(idle: false)
        normal.relax()  // never idle when not asked for
        #expect(try await Self.kernelPolicy(normal.loop) == 0)
        await normal.shutdown()
    }

    @Test(.enabled(if: Self.canSwitch, "needs /proc and the right to leave SCHED_IDLE"))
    func writerFallingBehindGetsTheNormalPolicy() async throws {
        let thread = try await BackgroundThread.start(idle: true)
        // Not running: nothing drains the queue, as when request threads keep the CPU busy.
        let client = Self.unconnectedClient()
        let writer = Self.writer(client, thread: thread, chain: "behind") { $0.boostQueueDepth = 10; $0.boostQueueAge = .seconds(60) }
        for i in 0..<9 { writer.record(sampleEvent(i: i)) }
        #expect(try await Self.kernelPolicy(thread.loop) == 5)
        writer.record(sampleEvent(i: 9))
        #expect(try await Self.kernelPolicy(thread.loop) == 0)

        // The oldest event waiting too long boosts it too.
        thread.relax()
        let aged = Self.writer(client, thread: thread, chain: "aged") { $0.boostQueueAge = .milliseconds(30) }
        aged.record(sampleEvent(i: 0))
        #expect(try await Self.kernelPolicy(thread.loop) == 5)
        try await Task.sleep(for: .milliseconds(40))
        aged.record(sampleEvent(i: 1))
        #expect(try await Self.kernelPolicy(thread.loop) == 0)
        await thread.shutdown()
    }

    @Test(.enabled(if: Self.canSwitch, "needs /proc and the right to leave SCHED_IDLE"))
    func boostedForFallingBehindItWritesSmallBatches() async throws {
        let thread = try await BackgroundThread.start(idle: true)
        let client = Self.unconnectedClient()
        // Boosted by depth only: recording 39 events took longer than the default 10 ms age
        // bound once, in a fresh-clone CI run beside the other suites.
        let writer = Self.writer(client, thread: thread, chain: "small") {
            $0.boostQueueDepth = 40; $0.boostedBatch = 16; $0.boostQueueAge = .seconds(60)
        }
        for i in 0..<39 { writer.record(sampleEvent(i: i)) }
        // At the idle policy it only runs when nothing else wants the CPU: whole batches.
        #expect(writer.batchLimit(stopping: false) == writer.configuration.maxBatch)
        writer.record(sampleEvent(i: 39))
        #expect(try await Self.kernelPolicy(thread.loop) == 0)
        #expect(writer.batchLimit(stopping: false) == 16)
        // Draining at shutdown is not held back.
        #expect(writer.batchLimit(stopping: true) == writer.configuration.maxBatch)
        #expect(writer.take(max: writer.batchLimit(stopping: false)).count == 16)
        await thread.shutdown()
    }

    @Test(.enabled(if: TestDatabase.available && Self.canSwitch))
    func writesOnItsThreadAndGoesBackToIdle() async throws {
        try await TestDatabase.withFreshDatabase { _, url in
            let thread = try await BackgroundThread.start(idle: true)
            var config = url.clientConfiguration
            config.options.maximumConnections = 2
            let client = PostgresClient(configuration: config, eventLoopGroup: thread.group, backgroundLogger: TestDatabase.logger)
            let pool = Task(executorPreference: thread.executor) { await client.run() }
            defer { pool.cancel() }
            let writer = Self.writer(client, thread: thread, chain: "own-thread")
            let threadID = try await thread.loop.submit { pthread_self() }.get()
            let completedOn = LockedBox<Set<pthread_t>>([])
            try await withWriter(writer) { w in
                for i in 0..<300 {
                    // The completion (the gateway's fingerprints) runs on the writer's thread.
                    w.record(sampleEvent(i: i)) { event in
                        completedOn.withLock { _ = $0.insert(pthread_self()) }
                        event.fingerprints = ["done-\(event.requestID)"]
                    }
                }
                try await w.recordDurably(sampleEvent(i: 300))  // boosts while it waits
                await w.flush()
                // Caught up and nobody waiting: back to the idle policy.
                var policy = -1
                for _ in 0..<100 {
                    policy = try await Self.kernelPolicy(thread.loop)
                    if policy == 5 { break }
                    try await Task.sleep(for: .milliseconds(10))
                }
                #expect(policy == 5)
            }
            #expect(completedOn.withLock { $0 } == [threadID])
            #expect(writer.stats.written == 301)
            #expect(try await TestDatabase.scalar(client, "SELECT count(*) FROM audit_events WHERE fingerprints[1] = 'done-' || request_id") == 300)
            let report = try await ChainVerifier(client: client, logger: TestDatabase.logger, checkpointKey: nil).verify()
            #expect(report.ok && report.eventsChecked == 301)
            pool.cancel()
            _ = await pool.value
            await thread.shutdown()
        }
    }
}

/// An idle-policy thread is only used where it can be boosted back: the kernel lets a thread
/// leave SCHED_IDLE for nice 0 only with CAP_SYS_NICE or RLIMIT_NICE >= 20.
@Suite struct IdlePolicyPermissionTests {
    static func status(capEff: String) -> String {
        "Name:\tairlock\nCapInh:\t0000000000000000\nCapPrm:\t\(capEff)\nCapEff:\t\(capEff)\nCapBnd:\t000001ffffffffff\n"
    }

    @Test func capSysNiceOrANiceLimitAllowsIt() {
        #expect(BackgroundThread.mayLeaveIdlePolicy(status: Self.status(capEff: "000001fffeffffff"), niceLimit: 0))
        #expect(BackgroundThread.mayLeaveIdlePolicy(status: Self.status(capEff: "0000000000800000"), niceLimit: 0))
        #expect(BackgroundThread.mayLeaveIdlePolicy(status: Self.status(capEff: "0000000000000000"), niceLimit: 20))
        #expect(BackgroundThread.mayLeaveIdlePolicy(status: nil, niceLimit: UInt64.max))
    }

    @Test func anUnprivilegedProcessMayNot() {
        // Docker's default capabilities as root: no CAP_SYS_NICE.
        #expect(!BackgroundThread.mayLeaveIdlePolicy(status: Self.status(capEff: "00000000a80425fb"), niceLimit: 0))
        #expect(!BackgroundThread.mayLeaveIdlePolicy(status: Self.status(capEff: "0000000000000000"), niceLimit: 19))
        #expect(!BackgroundThread.mayLeaveIdlePolicy(status: nil, niceLimit: 0))
        #expect(!BackgroundThread.mayLeaveIdlePolicy(status: "CapEff:\tnot-hex\n", niceLimit: 0))
    }
}
