import AirlockAudit
import AirlockCore
import Foundation
import Logging
import PostgresNIO

/// The measurements behind `airlock audit bench` (kept free of the CLI so it can run from
/// any harness).
struct AuditBench {
    let client: PostgresClient
    let logger: Logger

    func run(events: Int, producers: Int, queryRows: Int) async throws -> JSONValue {
        let key = try AuditKey(encoded: AuditKey.generateHex())
        let spool = FileManager.default.temporaryDirectory.appendingPathComponent("airlock-bench-spool-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: spool) }
        let writer = AuditWriter(client: client, configuration: .init(chainID: "bench", spoolDirectory: spool, checkpointKey: key), logger: logger)
        let now = Date()
        let perProducer = events / max(1, producers)
        let total = perProducer * max(1, producers)

        // Write: producers call record() as request handlers would; the clock stops when the
        // last event is committed.
        let writeSeconds = await withThrowingTaskGroup(of: Void.self) { group -> Double in
            group.addTask { try await writer.run() }
            let started = ContinuousClock.now
            await withTaskGroup(of: Void.self) { producersGroup in
                for p in 0..<max(1, producers) {
                    producersGroup.addTask {
                        for i in 0..<perProducer {
                            writer.record(AuditBench.event(p * perProducer + i, now: now))
                            if i % 1000 == 999 { await Task.yield() }
                        }
                    }
                }
            }
            await writer.flush()
            let elapsed = ContinuousClock.now - started
            group.cancelAll()
            return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        }
        let stats = writer.stats

        // Verify the chain just written.
        let vStart = ContinuousClock.now
        let report = try await ChainVerifier(client: client, logger: logger, checkpointKey: key).verify()
        let verifySeconds = AuditBench.seconds(ContinuousClock.now - vStart)

        var queries: [(String, JSONValue)] = []
        if queryRows > 0 {
            try await bulkLoad(rows: queryRows, now: now)
            let from = now.addingTimeInterval(-7 * 86_400), to = now.addingTimeInterval(86_400)
            let reader = AuditReader(client: client, logger: logger)
            func time(_ label: String, _ body: () async throws -> Int) async throws {
                _ = try await body()  // warm
                let s = ContinuousClock.now
                let n = try await body()
                queries.append((label, .object(JSONObject([("ms", .double((AuditBench.seconds(ContinuousClock.now - s) * 1000).rounded())), ("rows", .int(n))]))))
            }
            try await time("search_tenant_week_limit50") { try await reader.search(AuditQuery(tenantID: "t7", from: from, to: to, limit: 50)).count }
            try await time("search_tenant_decision_blocked") { try await reader.search(AuditQuery(tenantID: "t7", from: from, to: to, decision: "blocked", limit: 50)).count }
            try await time("search_tenant_entity_KR_RRN") { try await reader.search(AuditQuery(tenantID: "t7", from: from, to: to, entityType: "KR_RRN", limit: 50)).count }
            try await time("search_tenant_model") { try await reader.search(AuditQuery(tenantID: "t7", from: from, to: to, model: "gpt-4o-mini", limit: 50)).count }
            try await time("report_tenant_week") { try await reader.report(AuditQuery(tenantID: "t7", from: from, to: to)).totalCalls }
            try await time("export_tenant_day_jsonl") {
                var n = 0
                try await reader.stream(AuditQuery(tenantID: "t7", from: now.addingTimeInterval(-86_400), to: to)) { r in _ = r.json.serialized; n += 1 }
                return n
            }
            queries.append(("total_rows", .int(queryRows + total)))
        }

        let durable = try await durableLatency(rounds: 400, now: now, spool: spool)

        return .object(JSONObject([
            ("benchmark", .string("audit")),
            ("events", .int(total)),
            ("producers", .int(producers)),
            ("write_seconds", .double((writeSeconds * 1000).rounded() / 1000)),
            ("events_per_second", .int(Int(Double(total) / writeSeconds))),
            ("written", .int(stats.written)),
            ("spooled", .int(stats.spooled)),
            ("verify_ok", .bool(report.ok)),
            ("verify_seconds", .double((verifySeconds * 1000).rounded() / 1000)),
            ("verify_events_per_second", .int(Int(Double(report.eventsChecked) / verifySeconds))),
            ("queries", .object(JSONObject(queries))),
            ("durable_c1", durable),
        ]))
    }

    /// What a fail-closed call waits for: `recordDurably` one event at a time, with a small
    /// batch written by one statement (the default) and by the COPY transaction, alternated
    /// call by call on two chains so both see the same machine.
    func durableLatency(rounds: Int, now: Date, spool: String) async throws -> JSONValue {
        func writer(_ chain: String, oneStatement: Bool) -> AuditWriter {
            var config = AuditWriterConfiguration(chainID: chain, spoolDirectory: spool + "-" + chain)
            config.oneStatementMaxBatch = oneStatement ? AuditWriterConfiguration.defaultOneStatementMaxBatch : 0
            return AuditWriter(client: client, configuration: config, logger: logger)
        }
        let one = writer("durable-one", oneStatement: true), copy = writer("durable-copy", oneStatement: false)
        defer {
            try? FileManager.default.removeItem(atPath: spool + "-durable-one")
            try? FileManager.default.removeItem(atPath: spool + "-durable-copy")
        }
        let (a, b) = try await withThrowingTaskGroup(of: Void.self) { group -> ([Double], [Double]) in
            group.addTask { try await one.run() }
            group.addTask { try await copy.run() }
            defer { group.cancelAll() }
            var a: [Double] = [], b: [Double] = []
            for i in 0..<(rounds + 20) {
                for (w, isOne) in (i % 2 == 0 ? [(one, true), (copy, false)] : [(copy, false), (one, true)]) {
                    let start = ContinuousClock.now
                    try await w.recordDurably(AuditBench.event(i, now: now))
                    let ms = AuditBench.seconds(ContinuousClock.now - start) * 1000
                    if i >= 20 { if isOne { a.append(ms) } else { b.append(ms) } }
                }
            }
            return (a.sorted(), b.sorted())
        }
        func pct(_ v: [Double], _ p: Double) -> Double { (v[min(v.count - 1, Int(Double(v.count) * p))] * 1000).rounded() / 1000 }
        return .object(JSONObject([
            ("rounds", .int(rounds)),
            ("one_statement_ms", .object(JSONObject([("p50", .double(pct(a, 0.5))), ("p99", .double(pct(a, 0.99)))]))),
            ("transaction_ms", .object(JSONObject([("p50", .double(pct(b, 0.5))), ("p99", .double(pct(b, 0.99)))]))),
            ("p50_ratio_one_statement_to_transaction", .double((pct(a, 0.5) / max(pct(b, 0.5), 0.001) * 100).rounded() / 100)),
            ("one_statement_batches", .int(one.stats.oneStatementBatches)),
            ("transaction_batches", .int(copy.stats.batches - copy.stats.oneStatementBatches)),
        ]))
    }

    static func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }

    static let models = ["gpt-4o", "gpt-4o-mini", "deepseek-chat", "local-smollm2"]

    static func event(_ i: Int, now: Date) -> AuditEvent {
        let local = i % 4 == 3
        return AuditEvent(
            tenantID: "t\(i % 20)", keyID: "key_\(i % 50)", requestID: "req-\(i)", requestedModel: models[i % 4],
            provider: local ? "local" : (i % 4 == 2 ? "deepseek" : "openai"), region: local ? "local" : (i % 4 == 2 ? "cn" : "us"),
            routeReason: "policy", decision: i % 10 == 0 ? .blocked : (i % 3 == 0 ? .transformed : .allowed),
            firedRuleIDs: i % 3 == 0 ? ["pseudonymize-identifiers"] : [], policyVersion: 4,
            entityCounts: i % 3 == 0 ? [.emailAddress: 1, .krRRN: 1] : [:], fingerprints: i % 3 == 0 ? ["hmac:3f2a9c", "hmac:77b01e"] : [],
            usage: .init(promptTokens: 120 + i % 500, cachedPromptTokens: 0, completionTokens: 80 + i % 300),
            costUSD: local ? 0 : 0.00042, avoidedCostUSD: local ? 0.00042 : nil,
            receivedAt: now.addingTimeInterval(-Double(i % 1000) / 1000), firstByteAt: now, completedAt: now.addingTimeInterval(0.4),
            status: i % 10 == 0 ? 403 : 200, clientAddress: "10.1.\(i % 256).\(i % 200)")
    }

    /// Synthetic rows spread over 30 days and 20 tenants for query timings (hashes are
    /// placeholders on their own chain; verification is measured on the writer's rows).
    func bulkLoad(rows: Int, now: Date) async throws {
        let today = Int(now.timeIntervalSince1970 / 86_400)
        for d in (today - 31)...(today + 1) {
            _ = try await client.query(PostgresQuery(unsafeSQL: AuditPartition.createSQL(Int64(d))), logger: logger)
        }
        let chunk = 1_000_000
        var done = 0
        while done < rows {
            let n = min(chunk, rows - done)
            _ = try await client.query(PostgresQuery(unsafeSQL: """
                INSERT INTO audit_events (tenant_id, received_at, chain_id, seq, event_id, kind, key_id, request_id, endpoint, requested_model,
                    provider, region, route_reason, decision, rule_ids, policy_version, entity_types, entity_counts, fingerprints,
                    prompt_tokens, completion_tokens, cost_usd, avoided_cost_usd, latency_ms, status, prev_hash, hash)
                SELECT 't' || ((g / 7) % 20), now() - (g % 2592000) * interval '1 second', 'bulk', g, gen_random_uuid(), 0, 'key_' || (g % 50),
                    'bulk-' || g, '/v1/chat/completions', (ARRAY['gpt-4o','gpt-4o-mini','deepseek-chat','local-smollm2'])[1 + g % 4],
                    (ARRAY['openai','openai','deepseek','local'])[1 + g % 4], (ARRAY['us','us','cn','local'])[1 + g % 4], 'policy',
                    CASE WHEN g % 10 = 0 THEN 'blocked' WHEN g % 3 = 0 THEN 'transformed' ELSE 'allowed' END,
                    CASE WHEN g % 3 = 0 THEN ARRAY['pseudonymize-identifiers'] ELSE '{}'::text[] END, 4,
                    CASE WHEN g % 3 = 0 THEN ARRAY['EMAIL_ADDRESS','KR_RRN'] ELSE '{}'::text[] END,
                    CASE WHEN g % 3 = 0 THEN ARRAY[1,1]::bigint[] ELSE '{}'::bigint[] END, '{}', 120 + g % 500, 80 + g % 300,
                    CASE WHEN g % 4 = 3 THEN 0 ELSE 0.00042 END, CASE WHEN g % 4 = 3 THEN 0.00042 END, 400,
                    CASE WHEN g % 10 = 0 THEN 403 ELSE 200 END, '\\x00', '\\x00'
                FROM generate_series(\(done + 1), \(done + n)) AS g
                """), logger: logger)
            done += n
        }
        _ = try await client.query("ANALYZE audit_events", logger: logger)
    }
}
