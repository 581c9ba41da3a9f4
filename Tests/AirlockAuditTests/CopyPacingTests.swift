import AirlockCore
import Foundation
import PostgresNIO
import Testing
@testable import AirlockAudit

/// A small batch's COPY is handed to PostgreSQL a few rows at a time with pauses between
/// (`CopyPacing`), so the backend never holds a CPU for the whole batch. The rows must come out
/// exactly as an unpaced COPY stores them, and the pauses must really happen.
@Suite("Paced audit COPY")
struct CopyPacingTests {
    @Test func onlySmallBatchesLongerThanOneChunkArePaced() {
        let pacing = CopyPacing(rows: 3, pause: .microseconds(150), upToRows: 64)
        #expect(pacing.chunk(forBatchOf: 1) == nil)
        #expect(pacing.chunk(forBatchOf: 3) == nil)  // one chunk: nothing to pause between
        #expect(pacing.chunk(forBatchOf: 4) == 3)
        #expect(pacing.chunk(forBatchOf: 64) == 3)
        #expect(pacing.chunk(forBatchOf: 65) == nil)  // the writer is behind: throughput first
        #expect(CopyPacing.none.chunk(forBatchOf: 10) == nil)
        #expect(CopyPacing(rows: 3, pause: .zero, upToRows: 64).chunk(forBatchOf: 10) == nil)
        #expect(AuditWriterConfiguration(chainID: "c", spoolDirectory: "/tmp").copyPacing == .none)
    }

    @Test(.enabled(if: TestDatabase.available, "set AIRLOCK_TEST_DATABASE_URL to run database tests"))
    func pacedRowsAreStoredExactlyAsUnpacedOnesAndThePausesHappen() async throws {
        try await TestDatabase.withFreshDatabase { client, _ in
            let (store, signer) = try await OneStatementAppendTests.storeWithTodaysPartition(client)
            let base = Date()
            let paced = AwkwardTextChainTests.entries(chainID: "paced", count: 11, base: base)
            let whole = AwkwardTextChainTests.entries(chainID: "whole", count: 11, base: base)
            let pacing = CopyPacing(rows: 2, pause: .milliseconds(5), upToRows: 64)

            #expect(try await store.append(paced[..<1], chainID: "paced", signer: signer, checkpointEvery: 0) == .init(rows: 1, path: .lockedHead))
            let clock = ContinuousClock()
            let started = clock.now
            #expect(try await store.append(paced[1...], chainID: "paced", signer: signer, checkpointEvery: 0, oneStatementMaxBatch: 0,
                                           pacing: pacing) == .init(rows: 10, path: .movedHeadFirst))
            // Ten rows in chunks of two: four pauses of at least 5 ms each.
            #expect(clock.now - started >= .milliseconds(20))
            #expect(try await store.appendInTransaction(whole[...], chainID: "whole", signer: signer, checkpointEvery: 0) == 11)

            let a = try await OneStatementAppendTests.rows(client, chain: "paced")
            let b = try await OneStatementAppendTests.rows(client, chain: "whole")
            #expect(a.count == 11)
            #expect(a == b)
            let report = try await ChainVerifier(client: client, logger: TestDatabase.logger, checkpointKey: OneStatementAppendTests.key).verify()
            #expect(report.ok, "\(report)")
            #expect(report.eventsChecked == 22)
        }
    }
}
