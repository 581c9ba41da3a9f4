import AirlockCore
import Foundation
import PostgresNIO
import Testing
@testable import AirlockAudit

/// A small batch that a fail-closed caller waits on is written by one statement (rows as JSON,
/// head locked, checked and moved in the same statement) instead of BEGIN / SELECT … FOR UPDATE /
/// COPY / UPDATE / COMMIT. The rows must come out exactly as COPY stores them, and the path must
/// decline whenever the head is not where the batch expects it.
@Suite("Audit batches in one statement", .enabled(if: TestDatabase.available, "set AIRLOCK_TEST_DATABASE_URL to run database tests"))
struct OneStatementAppendTests {
    static let key = AwkwardTextChainTests.key

    /// Every column but the chain's own (chain id, hashes), per seq, as PostgreSQL renders it.
    static func rows(_ client: PostgresClient, chain: String) async throws -> [String] {
        var out: [String] = []
        let query = PostgresQuery(unsafeSQL: """
            SELECT (to_jsonb(e) - 'chain_id' - 'prev_hash' - 'hash')::text FROM audit_events e WHERE chain_id = $1 ORDER BY seq
            """, binds: { var b = PostgresBindings(); b.append(chain); return b }())
        for try await row in try await client.query(query, logger: TestDatabase.logger).decode(String.self) { out.append(row) }
        return out
    }

    static func storeWithTodaysPartition(_ client: PostgresClient) async throws -> (AuditStore, ChainSigner) {
        let store = AuditStore(client: client, logger: TestDatabase.logger)
        try await store.ensurePartitions([UTCDay.day(ofMicros: Date().micros)])
        return (store, ChainSigner(key: Self.key))
    }

    @Test func rowsAreStoredExactlyAsCopyStoresThem() async throws {
        try await TestDatabase.withFreshDatabase { client, _ in
            let (store, signer) = try await Self.storeWithTodaysPartition(client)
            let base = Date()
            let one = AwkwardTextChainTests.entries(chainID: "one", count: 24, base: base)
            let copied = AwkwardTextChainTests.entries(chainID: "copied", count: 24, base: base)

            // The first batch creates the head (general path); the next ones continue it.
            #expect(try await store.append(one[..<1], chainID: "one", signer: signer, checkpointEvery: 0) == .init(rows: 1, path: .lockedHead))
            #expect(try await store.append(one[1..<12], chainID: "one", signer: signer, checkpointEvery: 0) == .init(rows: 11, path: .oneStatement))
            #expect(try await store.append(one[12...], chainID: "one", signer: signer, checkpointEvery: 0) == .init(rows: 12, path: .oneStatement))
            #expect(try await store.appendInTransaction(copied[...], chainID: "copied", signer: signer, checkpointEvery: 0) == 24)

            let a = try await Self.rows(client, chain: "one"), b = try await Self.rows(client, chain: "copied")
            #expect(a.count == 24)
            #expect(a == b)
            // NULLs stayed NULL, arrays stayed arrays, costs stayed exact.
            #expect(try await TestDatabase.scalar(client, "SELECT count(*) FROM audit_events WHERE chain_id = 'one' AND key_id IS NULL") == 12)
            #expect(try await TestDatabase.scalar(client, "SELECT count(*) FROM audit_events WHERE chain_id = 'one' AND cost_usd = 1e-7") == 6)
            #expect(try await TestDatabase.scalar(client, "SELECT count(*) FROM audit_events WHERE chain_id = 'one' AND rule_ids[5] = '' AND cardinality(rule_ids) = 5") == 18)

            let report = try await ChainVerifier(client: client, logger: TestDatabase.logger, checkpointKey: Self.key).verify()
            #expect(report.ok, "\(report)")
            #expect(report.eventsChecked == 48)
            // The head moved with the rows and is signed.
            #expect(try await store.head(chainID: "one") == .init(seq: 24, hash: one[23].record.hash))
        }
    }

    @Test func declinesWhenTheHeadIsElsewhere() async throws {
        try await TestDatabase.withFreshDatabase { client, _ in
            let (store, signer) = try await Self.storeWithTodaysPartition(client)
            let base = Date()
            let entries = AwkwardTextChainTests.entries(chainID: "c", count: 20, base: base)

            // No head row yet: nothing written by the one statement.
            #expect(try await store.appendInOneStatement(entries[..<10], chainID: "c", signer: signer) == nil)
            #expect(try await TestDatabase.scalar(client, "SELECT count(*) FROM audit_events") == 0)
            #expect(try await store.append(entries[..<10], chainID: "c", signer: signer, checkpointEvery: 0) == .init(rows: 10, path: .lockedHead))

            // A replay overlapping what is committed: declined, then the general path skips 6...10.
            #expect(try await store.appendInOneStatement(entries[5..<15], chainID: "c", signer: signer) == nil)
            #expect(try await store.append(entries[5..<15], chainID: "c", signer: signer, checkpointEvery: 0) == .init(rows: 5, path: .lockedHead))

            // Another writer's batch on the same chain (same seq, different history): nothing
            // is inserted and the general path names the conflict.
            let other = AwkwardTextChainTests.entries(chainID: "c", count: 20, base: base.addingTimeInterval(60))
            #expect(try await store.appendInOneStatement(other[15..<18], chainID: "c", signer: signer) == nil)
            await #expect(throws: AirlockError.self) {
                try await store.append(other[15..<18], chainID: "c", signer: signer, checkpointEvery: 0)
            }
            #expect(try await TestDatabase.scalar(client, "SELECT count(*) FROM audit_events") == 15)
            #expect(try await store.head(chainID: "c") == .init(seq: 15, hash: entries[14].record.hash))

            // Checkpoint due or captured bodies: the general path, which writes those too.
            #expect(try await store.append(entries[15..<17], chainID: "c", signer: signer, checkpointEvery: 16) == .init(rows: 2, path: .movedHeadFirst))
            #expect(try await TestDatabase.scalar(client, "SELECT count(*) FROM audit_checkpoints WHERE chain_id = 'c' AND seq = 16") == 1)
            #expect(try await store.append(entries[17...], chainID: "c", signer: signer, checkpointEvery: 16) == .init(rows: 3, path: .oneStatement))

            let report = try await ChainVerifier(client: client, logger: TestDatabase.logger, checkpointKey: Self.key).verify()
            #expect(report.ok, "\(report)")
            #expect(report.eventsChecked == 20)
        }
    }

    /// The COPY transaction of a batch that continues the head moves the head in its first
    /// statement (one round trip fewer); the move is undone with everything else when a later
    /// step fails, and a batch that does not continue the head takes the locking path.
    @Test func theCopyTransactionMovesAContinuingHeadFirstAndUndoesItOnFailure() async throws {
        try await TestDatabase.withFreshDatabase { client, _ in
            let (store, signer) = try await Self.storeWithTodaysPartition(client)
            let base = Date()
            let entries = AwkwardTextChainTests.entries(chainID: "t", count: 12, base: base)
            #expect(try await store.append(entries[..<5], chainID: "t", signer: signer, checkpointEvery: 0, oneStatementMaxBatch: 0) == .init(rows: 5, path: .lockedHead))
            #expect(try await store.append(entries[5..<10], chainID: "t", signer: signer, checkpointEvery: 0, oneStatementMaxBatch: 0) == .init(rows: 5, path: .movedHeadFirst))
            #expect(try await store.head(chainID: "t") == .init(seq: 10, hash: entries[9].record.hash))
            // A replay overlapping the head: locked, 9 and 10 skipped.
            #expect(try await store.append(entries[8...], chainID: "t", signer: signer, checkpointEvery: 0, oneStatementMaxBatch: 0) == .init(rows: 2, path: .lockedHead))

            // The next event falls on a day without a partition: the COPY fails after the head
            // moved, and the rollback must put the head back.
            var late = AuditRecord(event: AwkwardTextChainTests.awkwardEvent(13, at: base.addingTimeInterval(400 * 86_400)), chainID: "t", seq: 13, payloadDigest: nil)
            late.seal(prev: entries[11].record.hash)
            await #expect(throws: (any Error).self) {
                try await store.append([SpoolEntry(record: late, payload: nil)][...], chainID: "t", signer: signer, checkpointEvery: 0, oneStatementMaxBatch: 0)
            }
            #expect(try await store.head(chainID: "t") == .init(seq: 12, hash: entries[11].record.hash))
            #expect(try await TestDatabase.scalar(client, "SELECT count(*) FROM audit_events WHERE chain_id = 't'") == 12)

            // Once the day exists the same batch goes through, head first.
            try await store.ensurePartitions([UTCDay.day(ofMicros: late.receivedAt)])
            #expect(try await store.append([SpoolEntry(record: late, payload: nil)][...], chainID: "t", signer: signer, checkpointEvery: 0, oneStatementMaxBatch: 0) == .init(rows: 1, path: .movedHeadFirst))
            let report = try await ChainVerifier(client: client, logger: TestDatabase.logger, checkpointKey: Self.key).verify()
            #expect(report.ok, "\(report)")
            #expect(report.eventsChecked == 13)
        }
    }

    @Test func durableEventsGoInOneStatementAndTheRestByCopy() async throws {
        try await TestDatabase.withFreshDatabase { client, _ in
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("spool-\(UUID().uuidString)").path
            defer { try? FileManager.default.removeItem(atPath: dir) }
            var config = AuditWriterConfiguration(chainID: "trickle", spoolDirectory: dir, checkpointKey: Self.key)
            config.batchLinger = .milliseconds(1)
            let writer = AuditWriter(client: client, configuration: config, logger: TestDatabase.logger)
            try await withWriter(writer) { w in
                for i in 0..<12 {
                    try await w.recordDurably(AwkwardTextChainTests.awkwardEvent(i, at: Date()))
                }
                // Batches nobody waits on keep the COPY transaction.
                for i in 12..<20 {
                    w.record(AwkwardTextChainTests.awkwardEvent(i, at: Date()))
                    await w.flush()
                }
            }
            let stats = writer.stats
            #expect(stats.written == 20)
            // The first batch creates the chain's head; every later durable one is a single statement.
            #expect(stats.batches == 20)
            #expect(stats.oneStatementBatches == 11)
            let report = try await ChainVerifier(client: client, logger: TestDatabase.logger, checkpointKey: Self.key).verify()
            #expect(report.ok, "\(report)")
            #expect(report.eventsChecked == 20)
        }
    }
}
