import AirlockCore
import AirlockStore
import Foundation
import PostgresNIO
import Testing
@testable import AirlockAudit

/// A personal-data call's audit row (~2.4 KB, mostly fingerprints) stays in the day partition
/// itself instead of going out to the TOAST table, for partitions the writer creates and for
/// those that existed before migration 0022; and it still verifies.
@Suite("Audit rows kept inline", .enabled(if: TestDatabase.available, "set AIRLOCK_TEST_DATABASE_URL to run database tests"))
struct InlineRowTests {
    /// 32 fingerprints of 64 hex digits, as a prompt full of personal data produces: a row of
    /// ~2.5 KB, above PostgreSQL's default 2 KB TOAST target.
    static func wideEvent(_ i: Int) -> AuditEvent {
        var event = sampleEvent(i: 0)
        event.requestID = "wide-\(i)"
        // Hex that does not compress, as real HMACs do not.
        var state = UInt64(i + 1) &* 0x9E37_79B9_7F4A_7C15
        func next() -> UInt64 { state ^= state << 13; state ^= state >> 7; state ^= state << 17; return state }
        event.fingerprints = (0..<32).map { _ in (0..<4).map { _ in String(format: "%016llx", next()) }.joined() }
        return event
    }

    static func toastBytes(_ client: PostgresClient, partition: String) async throws -> Int64 {
        try await TestDatabase.scalar(client, "SELECT pg_relation_size(reltoastrelid) FROM pg_class WHERE relname = '\(partition)'")
    }

    static func inlineOption(_ client: PostgresClient, partition: String) async throws -> Int64 {
        try await TestDatabase.scalar(client, "SELECT count(*) FROM pg_class WHERE relname = '\(partition)' AND 'toast_tuple_target=8160' = ANY(reloptions)")
    }

    @Test func writerPartitionsKeepWideRowsInline() async throws {
        try await TestDatabase.withFreshDatabase { client, _ in
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("spool-\(UUID().uuidString)").path
            let writer = AuditWriter(client: client, configuration: AuditWriterConfiguration(chainID: "wide", spoolDirectory: dir), logger: TestDatabase.logger)
            try await withWriter(writer) { w in
                for i in 0..<200 { w.record(Self.wideEvent(i)) }
                await w.flush()
            }
            #expect(writer.stats.written == 200)
            let partition = AuditPartition.name(UTCDay.day(ofMicros: Date().micros))
            #expect(try await Self.inlineOption(client, partition: partition) == 1)
            #expect(try await Self.toastBytes(client, partition: partition) == 0)
            #expect(try await TestDatabase.scalar(client, "SELECT count(*) FROM audit_events WHERE cardinality(fingerprints) = 32") == 200)
            let report = try await ChainVerifier(client: client, logger: TestDatabase.logger, checkpointKey: nil).verify()
            #expect(report.ok && report.eventsChecked == 200)
        }
    }

    @Test func migrationSetsTheOptionOnExistingPartitions() async throws {
        try await TestDatabase.withFreshDatabase { client, _ in
            // A partition made the way earlier versions made it, then the migration run again.
            try await TestDatabase.exec(client, "CREATE TABLE audit_events_p20200101 PARTITION OF audit_events FOR VALUES FROM ('2020-01-01 00:00:00+00') TO ('2020-01-02 00:00:00+00')")
            #expect(try await Self.inlineOption(client, partition: "audit_events_p20200101") == 0)
            let migration = try String(contentsOfFile: TestDatabase.repositoryRoot + "/Migrations/0022_audit_rows_inline.sql", encoding: .utf8)
            for statement in SQLScript.statements(migration) { try await TestDatabase.exec(client, statement) }
            #expect(try await Self.inlineOption(client, partition: "audit_events_p20200101") == 1)
        }
    }
}
