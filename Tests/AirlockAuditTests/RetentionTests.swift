import AirlockCore
import Foundation
import Testing
@testable import AirlockAudit

@Suite("Retention and legal holds", .enabled(if: TestDatabase.available, "set AIRLOCK_TEST_DATABASE_URL to run database tests"))
struct RetentionTests {
    static let key = try! AuditKey(encoded: String(repeating: "ef", count: 32))
    static let payloadKey = try! AuditKey(encoded: String(repeating: "12", count: 32))

    /// Tenants a (3 days), b (7 days), c (3 days, on hold for its old data); events 12, 10
    /// and 5 days old and today, all on one chain, some with captured bodies.
    static func seed(_ box: PostgresClientBox, now: Date) async throws {
        var config = AuditWriterConfiguration(chainID: "gw", spoolDirectory: SpoolTests.tempDir(), checkpointKey: key, payloadKey: payloadKey)
        config.checkpointEvery = 0
        let writer = AuditWriter(client: box.client, configuration: config, logger: TestDatabase.logger)
        try await withWriter(writer) { w in
            var i = 0
            for age in [12.0, 10, 5, 0] {
                for tenant in ["a", "b", "c"] {
                    for _ in 0..<3 {
                        var e = sampleEvent(tenant: tenant, i: i, at: now.addingTimeInterval(-age * 86_400 + Double(i)))
                        e.payload = AuditPayload(request: "prompt \(i)", response: "answer \(i)")
                        w.record(e)
                        i += 1
                    }
                }
            }
            await w.flush()
        }
    }

    static let rules = RetentionRules(defaults: .init(auditDays: 3, payloadDays: 1), tenants: ["b": .init(auditDays: 7, payloadDays: 7)])

    @Test func dropsExpiredPartitionsRedactsSharedOnesAndRespectsHolds() async throws {
        try await TestDatabase.withFreshDatabase { client, _ in
            let box = PostgresClientBox(client: client)
            let now = Date()
            try await Self.seed(box, now: now)
            let holds = LegalHolds(client: client, logger: TestDatabase.logger)
            // c's data from 13 to 11 days ago is on hold: the 12-day-old partition must stay.
            try await holds.place(tenantID: "c", from: now.addingTimeInterval(-13 * 86_400), to: now.addingTimeInterval(-11 * 86_400), reason: "case 42", by: "test")
            let runner = RetentionRunner(client: client, logger: TestDatabase.logger, checkpointKey: Self.key)

            let dry = try await runner.run(rules: Self.rules, now: now, dryRun: true, trigger: "test")
            #expect(dry.partitionsDropped.count == 1)  // the 10-day-old one
            #expect(try await TestDatabase.scalar(client, "SELECT count(*) FROM audit_events") == 36)

            let outcome = try await runner.run(rules: Self.rules, now: now, dryRun: false, trigger: "test")
            #expect(outcome.partitionsDropped == dry.partitionsDropped)
            // 12 days: a and b redacted (c held); 5 days: a and c redacted (b keeps 7 days).
            #expect(outcome.eventsRedacted == 12)
            #expect(outcome.heldTenants == ["c"])
            #expect(try await TestDatabase.scalar(client, "SELECT count(*) FROM audit_events WHERE kind = 0") == 27)
            #expect(try await TestDatabase.scalar(client, "SELECT count(*) FROM audit_events WHERE redacted") == 12)
            #expect(try await TestDatabase.scalar(client, "SELECT count(*) FROM audit_events WHERE tenant_id = 'c' AND NOT redacted AND received_at < now() - interval '11 days'") == 3)
            // Payloads: a and c keep 1 day (c's held range excepted), b keeps 7.
            #expect(try await TestDatabase.scalar(client, "SELECT count(*) FROM audit_payloads WHERE tenant_id IN ('a', 'c') AND received_at < now() - interval '1 day' AND NOT (tenant_id = 'c' AND received_at < now() - interval '11 days')") == 0)
            #expect(try await TestDatabase.scalar(client, "SELECT count(*) FROM audit_payloads WHERE tenant_id = 'c' AND received_at < now() - interval '11 days'") == 3)
            #expect(try await TestDatabase.scalar(client, "SELECT count(*) FROM audit_payloads WHERE tenant_id = 'b'") == 6)
            #expect(try await TestDatabase.scalar(client, "SELECT count(*) FROM retention_runs WHERE status = 'ok'") == 2)

            // The chain still verifies across the dropped partition and the redacted rows.
            let report = try await ChainVerifier(client: client, logger: TestDatabase.logger, checkpointKey: Self.key).verify()
            #expect(report.ok, "\(report.chains.map { $0.problem?.description ?? "ok" })")
            #expect(report.chains.first { $0.chainID == "gw" }?.redactedEvents == 12)
            // The run itself is an audited admin action.
            #expect(try await TestDatabase.scalar(client, "SELECT count(*) FROM audit_events WHERE kind = 1 AND endpoint = 'retention.run'") == 1)

            // Releasing the hold lets the next run drop the old partition.
            #expect(try await holds.release(tenantID: "c", by: "test") == 1)
            let second = try await runner.run(rules: Self.rules, now: now, dryRun: false, trigger: "test")
            #expect(second.partitionsDropped.count == 1)
            #expect(try await ChainVerifier(client: client, logger: TestDatabase.logger, checkpointKey: Self.key).verify().ok)
        }
    }
}

@Suite("Payload capture and reading", .enabled(if: TestDatabase.available, "set AIRLOCK_TEST_DATABASE_URL to run database tests"))
struct PayloadAndQueryTests {
    @Test func payloadRoundTripAndWrongKeyFails() async throws {
        try await TestDatabase.withFreshDatabase { client, _ in
            let key = try AuditKey(encoded: AuditKey.generateHex())
            let writer = AuditWriter(client: client, configuration: .init(chainID: "p", spoolDirectory: SpoolTests.tempDir(), payloadKey: key),
                                     logger: TestDatabase.logger)
            var event = sampleEvent(i: 1)
            event.payload = AuditPayload(request: "내 주민번호는 900101-1234567", response: "noted")
            let e = event
            try await withWriter(writer) { w in try await w.recordDurably(e) }
            // The stored row holds neither the prompt nor the answer in clear.
            #expect(try await TestDatabase.scalar(client, "SELECT count(*) FROM audit_payloads WHERE position('noted'::bytea in response_box) > 0") == 0)
            let reader = AuditReader(client: client, logger: TestDatabase.logger)
            let found = try #require(try await reader.event(id: event.id.uuidString))
            let payload = try #require(found.1)
            #expect(try payload.decrypt(with: key) == event.payload)
            #expect(throws: AirlockError.self) { try payload.decrypt(with: try AuditKey(encoded: AuditKey.generateHex())) }
        }
    }

    @Test func searchExportAndReport() async throws {
        try await TestDatabase.withFreshDatabase { client, _ in
            let writer = AuditWriter(client: client, configuration: .init(chainID: "q", spoolDirectory: SpoolTests.tempDir()), logger: TestDatabase.logger)
            try await withWriter(writer) { w in
                for i in 0..<30 { w.record(sampleEvent(tenant: i < 20 ? "acme" : "other", i: i)) }
                await w.flush()
            }
            let reader = AuditReader(client: client, logger: TestDatabase.logger)
            #expect(try await reader.search(AuditQuery(tenantID: "acme", decision: "blocked")).count == 4)
            #expect(try await reader.search(AuditQuery(tenantID: "acme", entityType: "KR_RRN")).count == 10)
            #expect(try await reader.search(AuditQuery(region: "local", limit: 5)).count == 5)
            var lines = 0
            try await reader.stream(AuditQuery(tenantID: "other")) { record in
                #expect(!record.csvLine.isEmpty)
                #expect(record.json["tenant_id"]?.stringValue == "other")
                lines += 1
            }
            #expect(lines == 10)
            let report = try await reader.report(AuditQuery(tenantID: "acme"))
            #expect(report.totalCalls == 20)
            #expect(report.byDecision["blocked"] == 4)
            #expect(report.entityTypes["KR_RRN"] == 10)
            #expect(report.localCalls == 7)
            #expect(abs(report.costAvoidedUSD - 0.014) < 1e-9)
            #expect(report.models.map(\.calls).reduce(0, +) == 20)
        }
    }

    @Test func gracefulShutdownDrainsTheQueue() async throws {
        try await TestDatabase.withFreshDatabase { client, _ in
            let writer = AuditWriter(client: client, configuration: .init(chainID: "d", spoolDirectory: SpoolTests.tempDir()), logger: TestDatabase.logger)
            // No flush: shutdown alone must get every queued event into the database.
            try await withWriter(writer) { w in for i in 0..<2_000 { w.record(sampleEvent(i: i)) } }
            #expect(try await TestDatabase.scalar(client, "SELECT count(*) FROM audit_events") == 2_000)
            #expect(writer.stats.queueDepth == 0)
            // After shutdown a fail-closed caller is told, not silently dropped.
            await #expect(throws: AirlockError.self) { try await writer.recordDurably(sampleEvent()) }
        }
    }
}
