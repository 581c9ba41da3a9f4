import Foundation
import Testing
@testable import AirlockAudit

@Suite("Hash chain and verification", .enabled(if: TestDatabase.available, "set AIRLOCK_TEST_DATABASE_URL to run database tests"))
struct ChainTests {
    static let key = try! AuditKey(encoded: String(repeating: "ab", count: 32))

    /// Writes 50 events on chain "c1" and returns after they are committed.
    static func seed(_ client: PostgresClientBox, count: Int = 50) async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("spool-\(UUID().uuidString)").path
        var config = AuditWriterConfiguration(chainID: "c1", spoolDirectory: dir, checkpointKey: key)
        config.checkpointEvery = 20
        let writer = AuditWriter(client: client.client, configuration: config, logger: TestDatabase.logger)
        try await withWriter(writer) { w in
            for i in 0..<count { w.record(sampleEvent(i: i, at: Date().addingTimeInterval(Double(i) * 0.001))) }
            await w.flush()
        }
        #expect(writer.stats.written == count)
    }

    func verify(_ client: PostgresClientBox) async throws -> ChainVerifier.Report {
        try await ChainVerifier(client: client.client, logger: TestDatabase.logger, checkpointKey: Self.key).verify()
    }

    @Test func intactChainVerifies() async throws {
        try await TestDatabase.withFreshDatabase { client, _ in
            let box = PostgresClientBox(client: client)
            try await Self.seed(box)
            let report = try await verify(box)
            #expect(report.ok)
            #expect(report.eventsChecked == 50)
            #expect(report.chains.first?.checkpointsChecked == 2)
            #expect(try await TestDatabase.scalar(client, "SELECT count(*) FROM audit_events") == 50)
        }
    }

    @Test func editedRowIsNamed() async throws {
        try await TestDatabase.withFreshDatabase { client, _ in
            let box = PostgresClientBox(client: client)
            try await Self.seed(box)
            try await TestDatabase.exec(client, "UPDATE audit_events SET decision = 'allowed' WHERE seq = 17")
            let problem = try await verify(box).chains.first?.problem
            #expect(problem == .init(seq: 17, kind: .edited))
        }
    }

    @Test func deletedRowIsNamed() async throws {
        try await TestDatabase.withFreshDatabase { client, _ in
            let box = PostgresClientBox(client: client)
            try await Self.seed(box)
            try await TestDatabase.exec(client, "DELETE FROM audit_events WHERE seq = 23")
            #expect(try await verify(box).chains.first?.problem == .init(seq: 23, kind: .missing))
        }
    }

    @Test func deletedTailIsNamed() async throws {
        try await TestDatabase.withFreshDatabase { client, _ in
            let box = PostgresClientBox(client: client)
            try await Self.seed(box)
            try await TestDatabase.exec(client, "DELETE FROM audit_events WHERE seq >= 48")
            #expect(try await verify(box).chains.first?.problem == .init(seq: 48, kind: .tailMissing))
        }
    }

    @Test func insertedRowIsNamed() async throws {
        try await TestDatabase.withFreshDatabase { client, _ in
            let box = PostgresClientBox(client: client)
            try await Self.seed(box)
            // A copy of row 30 with a fresh event id, slipped in under the same sequence.
            try await TestDatabase.exec(client, """
                INSERT INTO audit_events SELECT tenant_id, received_at + interval '1 microsecond', chain_id, seq, gen_random_uuid(), kind, key_id, request_id, endpoint,
                requested_model, provider, region, route_reason, decision, rule_ids, policy_version, entity_types, entity_counts,
                fingerprints, prompt_tokens, cached_prompt_tokens, completion_tokens, reasoning_tokens, cost_usd, avoided_cost_usd,
                first_byte_at, completed_at, latency_ms, status, error_code, client_address, actor, target, details, payload_digest,
                prev_hash, hash, redacted, content_digest, redaction_mac FROM audit_events WHERE seq = 30
                """)
            #expect(try await verify(box).chains.first?.problem?.seq == 30)
            // Appending past the head without the key is caught too.
            try await TestDatabase.exec(client, "DELETE FROM audit_events WHERE seq = 30 AND received_at = (SELECT max(received_at) FROM audit_events WHERE seq = 30)")
            try await TestDatabase.exec(client, "INSERT INTO audit_events SELECT tenant_id, received_at, chain_id, 51, event_id, kind, key_id, request_id, endpoint, requested_model, provider, region, route_reason, decision, rule_ids, policy_version, entity_types, entity_counts, fingerprints, prompt_tokens, cached_prompt_tokens, completion_tokens, reasoning_tokens, cost_usd, avoided_cost_usd, first_byte_at, completed_at, latency_ms, status, error_code, client_address, actor, target, details, payload_digest, hash, hash, redacted, content_digest, redaction_mac FROM audit_events WHERE seq = 50")
            #expect(try await verify(box).chains.first?.problem == .init(seq: 51, kind: .beyondHead))
        }
    }

    @Test func reorderedRowsAreNamed() async throws {
        try await TestDatabase.withFreshDatabase { client, _ in
            let box = PostgresClientBox(client: client)
            try await Self.seed(box)
            try await TestDatabase.exec(client, "UPDATE audit_events SET seq = CASE seq WHEN 12 THEN 13 ELSE 12 END WHERE seq IN (12, 13)")
            #expect(try await verify(box).chains.first?.problem?.seq == 12)
        }
    }

    @Test func forgedHeadIsDetected() async throws {
        try await TestDatabase.withFreshDatabase { client, _ in
            let box = PostgresClientBox(client: client)
            try await Self.seed(box)
            // Truncate and move the head back: without the key the head signature fails.
            try await TestDatabase.exec(client, "DELETE FROM audit_events WHERE seq > 40")
            try await TestDatabase.exec(client, "UPDATE audit_chains SET last_seq = 40, last_hash = (SELECT hash FROM audit_events WHERE seq = 40)")
            #expect(try await verify(box).chains.first?.problem == .init(seq: 40, kind: .badSignature))
        }
    }

    @Test func rangedVerificationChecksOnlyThatSpan() async throws {
        try await TestDatabase.withFreshDatabase { client, _ in
            let box = PostgresClientBox(client: client)
            try await Self.seed(box)
            let report = try await ChainVerifier(client: client, logger: TestDatabase.logger, checkpointKey: Self.key)
                .verify(from: Date().addingTimeInterval(-3600), to: Date().addingTimeInterval(3600))
            #expect(report.ok)
            #expect(report.eventsChecked == 50)
        }
    }
}
