import AirlockCore
import AirlockStore
import Foundation
import PostgresNIO
import Testing
@testable import AirlockAudit

@Suite("Durable spool")
struct SpoolTests {
    static func tempDir() -> String { FileManager.default.temporaryDirectory.appendingPathComponent("spool-\(UUID().uuidString)").path }

    static func entries(_ n: Int, from seq: Int64 = 1) -> [SpoolEntry] {
        var prev = AuditRecord.zeroHash
        return (0..<n).map { i in
            var r = AuditRecord(event: sampleEvent(i: i), chainID: "c", seq: seq + Int64(i), payloadDigest: nil)
            r.seal(prev: prev)
            prev = r.hash
            return SpoolEntry(record: r, payload: i % 2 == 0 ? SealedPayload(keyID: "k", request: [1, 2, 3], response: [4]) : nil)
        }
    }

    @Test func appendsSurviveReopenAndTornTailIsCut() throws {
        let dir = Self.tempDir()
        let written = Self.entries(10)
        do {
            let spool = try AuditSpool(directory: dir)
            try spool.append(Array(written[0..<6]))
            try spool.append(Array(written[6...]))
        }
        // A crash mid-write leaves half a frame at the end.
        let segment = try #require(try FileManager.default.contentsOfDirectory(atPath: dir).first)
        let handle = try #require(FileHandle(forWritingAtPath: dir + "/" + segment))
        handle.seekToEndOfFile()
        handle.write(Data([0x41, 0x4C, 0x53, 0x31, 0, 0, 1, 0, 9, 9]))
        try handle.close()

        let reopened = try AuditSpool(directory: dir)
        let last = try reopened.recover()
        #expect(last == written.last?.record)
        #expect(reopened.pendingRecords == 10)
        #expect(try reopened.entries(of: reopened.segments[0]) == written)
    }

    @Test func roomCheckNeedsAWritableFolderWithSpace() throws {
        let dir = Self.tempDir()
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        #expect(AuditSpool.hasRoom(directory: dir))
        #expect(!AuditSpool.hasRoom(directory: dir + "/missing"))
        try FileManager.default.setAttributes([.posixPermissions: 0o500], ofItemAtPath: dir)
        defer { try? FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: dir) }
        if geteuid() != 0 { #expect(!AuditSpool.hasRoom(directory: dir)) }  // root may write anywhere
    }

    @Test func corruptedRecordIsNotReplayed() throws {
        let dir = Self.tempDir()
        let spool = try AuditSpool(directory: dir)
        try spool.append(Self.entries(3))
        let path = spool.segments[0]
        var bytes = [UInt8](FileManager.default.contents(atPath: path)!)
        bytes[bytes.count - 5] ^= 0xFF  // flip a bit in the last record
        FileManager.default.createFile(atPath: path, contents: Data(bytes))
        let reopened = try AuditSpool(directory: dir)
        #expect(try reopened.recover()?.seq == 2)
        #expect(reopened.pendingRecords == 2)
    }

    /// Kills PostgreSQL under load and restarts it: every request has exactly one audit row,
    /// the chain verifies, and the spool was used and fully replayed. Then, with the database
    /// down and the spool unusable, a fail-closed caller is refused.
    @Test(.enabled(if: DedicatedServer.available, "needs AIRLOCK_TEST_DATABASE_URL and PostgreSQL server binaries"),
          .timeLimit(.minutes(2)))
    func databaseKilledUnderLoadLosesNothing() async throws {
        let server = try DedicatedServer()
        defer { server.destroy() }
        try server.start()
        let spoolDir = Self.tempDir()
        let key = try AuditKey(encoded: String(repeating: "cd", count: 32))
        try await TestDatabase.withClient(server.url) { client in
            try await Migrator(client: client, logger: TestDatabase.logger).migrate(Migration.load(from: TestDatabase.repositoryRoot + "/Migrations"))
            var config = AuditWriterConfiguration(chainID: "gw-1", spoolDirectory: spoolDir, checkpointKey: key)
            config.databaseTimeout = .milliseconds(800)
            config.replayRetryInterval = .milliseconds(300)
            config.maxBatch = 200
            let writer = AuditWriter(client: client, configuration: config, logger: TestDatabase.logger)
            let total = 3_000
            try await withWriter(writer) { w in
                for i in 0..<total {
                    if i == 1_000 { try server.stop(immediate: true) }
                    if i == 2_000 { try server.start() }
                    if i % 100 == 0 {
                        try await w.recordDurably(sampleEvent(i: i))  // durable even while the database is down
                    } else {
                        w.record(sampleEvent(i: i))
                    }
                    if i % 50 == 0 { try await Task.sleep(for: .milliseconds(5)) }
                }
                // Wait for the replay to finish.
                let deadline = ContinuousClock.now + .seconds(60)
                while ContinuousClock.now < deadline {
                    await w.flush()
                    let s = w.stats
                    if s.spoolPending == 0 && s.databaseHealthy && s.queueDepth == 0 { break }
                    try await Task.sleep(for: .milliseconds(100))
                }
            }
            let stats = writer.stats
            #expect(stats.spooled > 0)
            #expect(stats.replayed == stats.spooled)
            #expect(stats.written + stats.spooled == total)
            #expect(try await TestDatabase.scalar(client, "SELECT count(*) FROM audit_events") == Int64(total))
            #expect(try await TestDatabase.scalar(client, "SELECT count(DISTINCT request_id) FROM audit_events") == Int64(total))
            #expect(try await TestDatabase.scalar(client, "SELECT max(seq) FROM audit_events") == Int64(total))
            let report = try await ChainVerifier(client: client, logger: TestDatabase.logger, checkpointKey: key).verify()
            #expect(report.ok, "\(report.chains.map { $0.problem?.description ?? "ok" })")
            #expect(report.eventsChecked == total)

            // Fail-closed: database down and the spool folder gone → refused, not served unaudited.
            let failing = AuditWriter(client: client, configuration: config, logger: TestDatabase.logger)
            try await withWriter(failing) { w in
                try await w.recordDurably(sampleEvent(i: 1))
                try server.stop(immediate: true)
                try FileManager.default.removeItem(atPath: spoolDir)
                FileManager.default.createFile(atPath: spoolDir, contents: Data())  // a file where the folder was
                await #expect(throws: AirlockError.self) { try await w.recordDurably(sampleEvent(i: 2)) }
                #expect(w.stats.failed == 1)
                try FileManager.default.removeItem(atPath: spoolDir)
                try FileManager.default.createDirectory(atPath: spoolDir, withIntermediateDirectories: true)
                try server.start()
            }
        }
    }

    /// A spool left by a crashed instance is replayed on start, onto the chain that wrote it,
    /// even when the instance now runs under another chain id.
    @Test(.enabled(if: TestDatabase.available, "set AIRLOCK_TEST_DATABASE_URL to run database tests"))
    func leftoverSpoolIsReplayedOnStart() async throws {
        try await TestDatabase.withFreshDatabase { client, _ in
            let dir = Self.tempDir()
            try AuditSpool(directory: dir).append(Self.entries(25))  // chain "c", seq 1...25
            let writer = AuditWriter(client: client, configuration: .init(chainID: "new", spoolDirectory: dir), logger: TestDatabase.logger)
            try await withWriter(writer) { w in
                w.record(sampleEvent(i: 99))
                // Waits for the replayed rows themselves: the writer's stats read "nothing
                // pending" until its loop has opened the spool, which on a loaded machine can
                // come after the first look.
                let deadline = ContinuousClock.now + .seconds(20)
                while ContinuousClock.now < deadline {
                    if w.stats.spoolPending == 0, w.stats.databaseHealthy,
                       try await TestDatabase.scalar(client, "SELECT count(*) FROM audit_events WHERE chain_id = 'c'") == 25 { break }
                    try await Task.sleep(for: .milliseconds(50))
                }
                await w.flush()
            }
            #expect(try await TestDatabase.scalar(client, "SELECT count(*) FROM audit_events WHERE chain_id = 'c'") == 25)
            #expect(try await TestDatabase.scalar(client, "SELECT count(*) FROM audit_events WHERE chain_id = 'new'") == 1)
            #expect(try await ChainVerifier(client: client, logger: TestDatabase.logger, checkpointKey: nil).verify().ok)
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty)
        }
    }
}
