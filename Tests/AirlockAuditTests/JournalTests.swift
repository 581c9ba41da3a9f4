import AirlockCore
import Foundation
import PostgresNIO
import Testing
@testable import AirlockAudit

/// The write-ahead journal: events are on disk before their database transaction, a journal
/// left by a killed process is replayed on the next start (what was committed is not written
/// twice), and a flush or shutdown writes the journal out.
@Suite("Write-ahead journal")
struct JournalTests {
    static func folder() throws -> String {
        let dir = SpoolTests.tempDir()
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    @Test func appendedRecordsAreReadBackAndResetEmptiesTheFile() throws {
        let dir = try Self.folder()
        let written = SpoolTests.entries(7)
        let journal = try AuditJournal(directory: dir)
        try journal.append(Array(written[0..<3]))
        try journal.append(Array(written[3...]))
        #expect(AuditJournal.leftover(in: dir) == written)
        #expect(journal.records == 7)
        journal.reset()
        #expect(AuditJournal.leftover(in: dir).isEmpty)
        try journal.append(Array(written[0..<2]))  // appends start over at the beginning
        #expect(AuditJournal.leftover(in: dir) == Array(written[0..<2]))
    }

    @Test func aTornLastFrameIsIgnored() throws {
        let dir = try Self.folder()
        let written = SpoolTests.entries(4)
        try AuditJournal(directory: dir).append(written)
        let handle = try #require(FileHandle(forWritingAtPath: dir + "/" + AuditJournal.fileName))
        handle.seekToEndOfFile()
        handle.write(Data([0x41, 0x4C, 0x53, 0x31, 0, 0, 2, 0, 7]))  // the process died mid-write
        try handle.close()
        #expect(AuditJournal.leftover(in: dir) == written)
        #expect(AuditJournal.leftover(in: dir + "/none").isEmpty)
    }

    static func journaling(_ dir: String, linger: Duration) -> AuditWriterConfiguration {
        var config = AuditWriterConfiguration(chainID: "gw-j", spoolDirectory: dir)
        config.journal = true
        config.batchLinger = linger
        return config
    }

    /// Events wait for their transaction in the journal file, not only in memory; `flush`
    /// writes them out and empties the journal.
    @Test(.enabled(if: TestDatabase.available, "set AIRLOCK_TEST_DATABASE_URL to run database tests"))
    func eventsAreJournaledBeforeTheirTransaction() async throws {
        try await TestDatabase.withFreshDatabase { client, _ in
            let dir = SpoolTests.tempDir()
            let writer = AuditWriter(client: client, configuration: Self.journaling(dir, linger: .seconds(30)), logger: TestDatabase.logger)
            try await withWriter(writer) { w in
                for i in 0..<20 { w.record(sampleEvent(i: i)) }
                let deadline = ContinuousClock.now + .seconds(20)
                while w.stats.journaled < 20, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
                #expect(w.stats.journaled == 20)
                let onDisk = AuditJournal.leftover(in: dir)
                #expect(onDisk.map(\.record.requestID) == (0..<20).map { "req-\($0)" })
                #expect(onDisk.map(\.record.seq) == Array(1...20))
                #expect(try await TestDatabase.scalar(client, "SELECT count(*) FROM audit_events") == 0)
                await w.flush()
                #expect(w.stats.journaled == 0)
                #expect(w.stats.written == 20)
                #expect(try await TestDatabase.scalar(client, "SELECT count(*) FROM audit_events") == 20)
                #expect(AuditJournal.leftover(in: dir).isEmpty)
            }
            #expect(try await ChainVerifier(client: client, logger: TestDatabase.logger, checkpointKey: nil).verify().ok)
        }
    }

    /// Without a flush the journaled events reach the database once the oldest has waited
    /// the linger, and a fail-closed caller's event takes the journaled ones along at once.
    @Test(.enabled(if: TestDatabase.available, "set AIRLOCK_TEST_DATABASE_URL to run database tests"))
    func journaledEventsAreCommittedAfterTheLingerOrWithADurableOne() async throws {
        try await TestDatabase.withFreshDatabase { client, _ in
            let dir = SpoolTests.tempDir()
            let writer = AuditWriter(client: client, configuration: Self.journaling(dir, linger: .milliseconds(300)), logger: TestDatabase.logger)
            try await withWriter(writer) { w in
                for i in 0..<5 { w.record(sampleEvent(i: i)) }
                let deadline = ContinuousClock.now + .seconds(20)
                while try await TestDatabase.scalar(client, "SELECT count(*) FROM audit_events") < 5, ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(20))
                }
                #expect(try await TestDatabase.scalar(client, "SELECT count(*) FROM audit_events") == 5)
                #expect(w.stats.batches == 1)

                for i in 5..<8 { w.record(sampleEvent(i: i)) }
                while w.stats.journaled < 3, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
                try await w.recordDurably(sampleEvent(i: 8))
                // Committed in order with the durable one, in one transaction.
                #expect(try await TestDatabase.scalar(client, "SELECT count(*) FROM audit_events") == 9)
                #expect(w.stats.batches == 2)
                #expect(AuditJournal.leftover(in: dir).isEmpty)
            }
            #expect(try await ChainVerifier(client: client, logger: TestDatabase.logger, checkpointKey: nil).verify().ok)
        }
    }

    /// A process killed with events in its journal, some of them already committed: the next
    /// start commits the rest and nothing twice.
    @Test(.enabled(if: TestDatabase.available, "set AIRLOCK_TEST_DATABASE_URL to run database tests"))
    func aKilledProcesssJournalIsReplayedOnStart() async throws {
        try await TestDatabase.withFreshDatabase { client, _ in
            let dir = try Self.folder()
            let entries = SpoolTests.entries(25)  // chain "c", seq 1...25
            let store = AuditStore(client: client, logger: TestDatabase.logger)
            try await store.ensurePartitions([UTCDay.day(ofMicros: entries[0].record.receivedAt)])
            _ = try await store.append(entries[0..<10], chainID: "c", signer: nil, checkpointEvery: 0)
            try AuditJournal(directory: dir).append(entries)

            var config = Self.journaling(dir, linger: .milliseconds(50))
            config.chainID = "c"
            let writer = AuditWriter(client: client, configuration: config, logger: TestDatabase.logger)
            try await withWriter(writer) { w in
                let deadline = ContinuousClock.now + .seconds(20)
                while ContinuousClock.now < deadline {
                    if w.stats.spoolPending == 0, w.stats.databaseHealthy,
                       try await TestDatabase.scalar(client, "SELECT count(*) FROM audit_events") == 25 { break }
                    try await Task.sleep(for: .milliseconds(50))
                }
                w.record(sampleEvent(i: 99))  // continues the replayed chain
                await w.flush()
            }
            #expect(try await TestDatabase.scalar(client, "SELECT count(*) FROM audit_events") == 26)
            #expect(try await TestDatabase.scalar(client, "SELECT count(DISTINCT seq) FROM audit_events") == 26)
            #expect(try await ChainVerifier(client: client, logger: TestDatabase.logger, checkpointKey: nil).verify().ok)
            #expect(AuditJournal.leftover(in: dir).isEmpty)
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasPrefix("segment-") }.isEmpty)
        }
    }
}
