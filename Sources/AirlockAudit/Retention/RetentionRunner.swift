import AirlockCore
import Foundation
import Logging
import NIOCore
import PostgresNIO

/// One retention pass. Whole day partitions whose every tenant has expired (and none is on
/// legal hold) are detached concurrently and dropped — after a signed checkpoint per chain
/// span so the rest of each chain still verifies. Inside partitions that must stay (another
/// tenant keeps data longer, or a hold), an expired tenant's rows are redacted in bounded
/// batches (fields blanked, content digest kept and signed). Expired payload rows are
/// deleted in bounded batches. Every statement runs with a short lock timeout, so a run
/// never holds or waits on long locks; each run is recorded in `retention_runs`.
public struct RetentionRunner: Sendable {
    public let client: PostgresClient
    public let logger: Logger
    let signer: ChainSigner?
    let checkpointKey: AuditKey?
    public var batchSize = 5_000
    /// Advisory lock key: one retention run at a time across instances and the CLI.
    static let lockKey: Int64 = 0x41_55_44_49_54_52_45_54

    public init(client: PostgresClient, logger: Logger, checkpointKey: AuditKey?) {
        self.client = client
        self.logger = logger
        self.checkpointKey = checkpointKey
        self.signer = checkpointKey.map(ChainSigner.init)
    }

    public struct Outcome: Sendable, Equatable {
        public var runID: Int64 = 0
        public var dryRun: Bool
        public var partitionsDropped: [String] = []
        public var eventsRedacted: Int = 0
        public var payloadsDeleted: Int = 0
        public var heldTenants: [String] = []
        /// Set when another run held the lock and this one did nothing.
        public var skipped = false
    }

    public func run(rules: RetentionRules, now: Date = Date(), dryRun: Bool, trigger: String, actor: String = "retention") async throws -> Outcome {
        var outcome = Outcome(dryRun: dryRun)
        if !dryRun && signer == nil {
            throw AirlockError(.invalidRequest, "retention needs the checkpoint key (it signs the anchors that keep chains verifiable); set the checkpoint key environment variable or use --dry-run")
        }
        let holds = try await LegalHolds(client: client, logger: logger).active()
        let runID = try await startRun(dryRun: dryRun, trigger: trigger, at: now)
        outcome.runID = runID
        do {
            let locked = try await client.withConnection { conn -> Bool in
                var got = false
                for try await v in try await conn.query("SELECT pg_try_advisory_lock(\(RetentionRunner.lockKey))", logger: logger).decode(Bool.self) { got = v }
                guard got else { return false }
                do {
                    _ = try await conn.query("SET lock_timeout = '2s'", logger: logger)
                    try await self.expireEvents(conn, rules: rules, holds: holds, now: now, dryRun: dryRun, outcome: &outcome)
                    try await self.expirePayloads(conn, rules: rules, holds: holds, now: now, dryRun: dryRun, outcome: &outcome)
                } catch {
                    _ = try? await conn.query("RESET lock_timeout", logger: logger)
                    _ = try? await conn.query("SELECT pg_advisory_unlock(\(RetentionRunner.lockKey))", logger: logger)
                    throw error
                }
                _ = try await conn.query("RESET lock_timeout", logger: logger)
                _ = try await conn.query("SELECT pg_advisory_unlock(\(RetentionRunner.lockKey))", logger: logger)
                return true
            }
            outcome.skipped = !locked
            outcome.heldTenants = Array(Set(holds.map(\.tenantID))).sorted()
            try await finishRun(runID, outcome: outcome, status: locked ? "ok" : "skipped", error: nil)
        } catch {
            try? await finishRun(runID, outcome: outcome, status: "failed", error: WriterLoop.describe(error))
            throw error
        }
        if !dryRun && !outcome.skipped {
            _ = try? await AdminAuditLog(client: client, logger: logger, checkpointKey: checkpointKey).record(.admin(
                action: "retention.run", actor: actor, target: "run \(runID)",
                details: ["partitions_dropped": String(outcome.partitionsDropped.count), "events_redacted": String(outcome.eventsRedacted),
                          "payloads_deleted": String(outcome.payloadsDeleted), "trigger": trigger]))
        }
        return outcome
    }

    // MARK: events

    func partitions(_ conn: PostgresConnection) async throws -> [(name: String, day: Int64)] {
        var out: [(String, Int64)] = []
        for try await name in try await conn.query("""
            SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
            WHERE p.relname = 'audit_events'
            """, logger: logger).decode(String.self) {
            if let day = AuditPartition.day(fromName: name) { out.append((name, day)) }
        }
        return out.sorted { $0.1 < $1.1 }
    }

    private func expireEvents(_ conn: PostgresConnection, rules: RetentionRules, holds: [LegalHolds.Hold], now: Date, dryRun: Bool, outcome: inout Outcome) async throws {
        let nowDay = UTCDay.day(ofMicros: now.micros)
        let minDays = Int64(([rules.defaults] + Array(rules.tenants.values)).map(\.auditDays).min() ?? 0)
        for (name, day) in try await partitions(conn) where day + 1 + minDays <= nowDay + 1 {
            let start = Date(micros: day * UTCDay.microsPerDay)
            let end = Date(micros: (day + 1) * UTCDay.microsPerDay)
            var tenants: [String] = []
            for try await t in try await conn.query(PostgresQuery(unsafeSQL: "SELECT DISTINCT tenant_id FROM \(name)"), logger: logger).decode(String.self) {
                tenants.append(t)
            }
            func expired(_ t: String) -> Bool {
                end <= now.addingTimeInterval(-Double(rules.days(for: t).auditDays) * 86_400)
            }
            func held(_ t: String) -> Bool { holds.contains { $0.tenantID == t && $0.overlaps(start: start, end: end) } }
            let doomed = tenants.filter { expired($0) && !held($0) }
            if doomed.count == tenants.count {
                if !dryRun { try await drop(conn, partition: name) }
                outcome.partitionsDropped.append(name)
            } else {
                for tenant in doomed {
                    outcome.eventsRedacted += try await redact(conn, partition: name, tenant: tenant, dryRun: dryRun)
                }
            }
        }
    }

    /// Signs one checkpoint per contiguous run of each chain's sequences in the partition,
    /// then detaches (concurrently: no long lock on audit_events) and drops it.
    private func drop(_ conn: PostgresConnection, partition name: String) async throws {
        guard let signer else { return }
        var spans: [(String, Int64, Int64)] = []
        for try await (chain, lo, hi) in try await conn.query(PostgresQuery(unsafeSQL: """
            SELECT chain_id, min(seq), max(seq) FROM (
                SELECT chain_id, seq, seq - row_number() OVER (PARTITION BY chain_id ORDER BY seq) AS grp FROM \(name)) t
            GROUP BY chain_id, grp
            """), logger: logger).decode((String, Int64, Int64).self) {
            spans.append((chain, lo, hi))
        }
        for (chain, lo, hi) in spans {
            var hash: [UInt8]?
            for try await h in try await conn.query(PostgresQuery(unsafeSQL: "SELECT hash FROM \(name) WHERE chain_id = $1 AND seq = $2", binds: {
                var b = PostgresBindings(); b.append(chain); b.append(hi); return b
            }()), logger: logger).decode(ByteBuffer.self) { hash = Array(buffer: h) }
            guard let hash else { continue }
            let mac = ByteBuffer(bytes: signer.checkpointMAC(chainID: chain, seq: hi, fromSeq: lo, hash: hash))
            _ = try await conn.query("""
                INSERT INTO audit_checkpoints (chain_id, seq, from_seq, hash, reason, mac)
                VALUES (\(chain), \(hi), \(lo), \(ByteBuffer(bytes: hash)), 'retention', \(mac))
                ON CONFLICT (chain_id, seq) DO UPDATE SET from_seq = EXCLUDED.from_seq, reason = EXCLUDED.reason, mac = EXCLUDED.mac
                """, logger: logger)
        }
        do {
            _ = try await conn.query(PostgresQuery(unsafeSQL: "ALTER TABLE audit_events DETACH PARTITION \(name) CONCURRENTLY"), logger: logger)
        } catch {
            // CONCURRENTLY is refused in some states (e.g. a default partition); fall back,
            // still bounded by lock_timeout.
            _ = try await conn.query(PostgresQuery(unsafeSQL: "ALTER TABLE audit_events DETACH PARTITION \(name)"), logger: logger)
        }
        _ = try await conn.query(PostgresQuery(unsafeSQL: "DROP TABLE \(name)"), logger: logger)
        logger.info("retention dropped audit partition", metadata: ["partition": .string(name)])
    }

    /// Blanks one tenant's rows in a partition that must stay, batch by batch, keeping each
    /// row's content digest (signed) so its chain still verifies.
    private func redact(_ conn: PostgresConnection, partition name: String, tenant: String, dryRun: Bool) async throws -> Int {
        if dryRun {
            for try await n in try await conn.query(PostgresQuery(unsafeSQL: "SELECT count(*) FROM \(name) WHERE tenant_id = $1 AND NOT redacted", binds: {
                var b = PostgresBindings(); b.append(tenant); return b
            }()), logger: logger).decode(Int64.self) { return Int(n) }
            return 0
        }
        guard let signer else { return 0 }
        var total = 0
        while true {
            var chains: [String] = [], seqs: [Int64] = [], digests: [ByteBuffer] = [], macs: [ByteBuffer] = []
            let rows = try await conn.query(PostgresQuery(unsafeSQL: "SELECT \(AuditRecord.selectColumns) FROM \(name) WHERE tenant_id = $1 AND NOT redacted LIMIT \(batchSize)", binds: {
                var b = PostgresBindings(); b.append(tenant); return b
            }()), logger: logger)
            for try await row in rows {
                let r = try AuditRecord.decodeStored(row).record
                let digest = r.contentDigest()
                chains.append(r.chainID)
                seqs.append(r.seq)
                digests.append(ByteBuffer(bytes: digest))
                macs.append(ByteBuffer(bytes: signer.redactionMAC(chainID: r.chainID, seq: r.seq, contentDigest: digest)))
            }
            if seqs.isEmpty { break }
            var binds = PostgresBindings()
            binds.append(tenant); binds.append(chains); binds.append(seqs); binds.append(digests); binds.append(macs)
            _ = try await conn.query(PostgresQuery(unsafeSQL: """
                UPDATE \(name) AS e SET redacted = true, content_digest = u.d, redaction_mac = u.m,
                    key_id = NULL, request_id = '', endpoint = '', requested_model = NULL, provider = NULL, region = NULL,
                    route_reason = NULL, decision = '', rule_ids = '{}', policy_version = NULL, entity_types = '{}',
                    entity_counts = '{}', fingerprints = '{}', prompt_tokens = NULL, cached_prompt_tokens = NULL,
                    completion_tokens = NULL, reasoning_tokens = NULL, cost_usd = NULL, avoided_cost_usd = NULL,
                    first_byte_at = NULL, completed_at = NULL, latency_ms = NULL, status = NULL, error_code = NULL,
                    client_address = NULL, actor = NULL, target = NULL, details = NULL, payload_digest = NULL
                FROM unnest($2::text[], $3::bigint[], $4::bytea[], $5::bytea[]) AS u(c, s, d, m)
                WHERE e.tenant_id = $1 AND e.chain_id = u.c AND e.seq = u.s
                """, binds: binds), logger: logger)
            total += seqs.count
        }
        return total
    }

    // MARK: payloads

    private func expirePayloads(_ conn: PostgresConnection, rules: RetentionRules, holds: [LegalHolds.Hold], now: Date, dryRun: Bool, outcome: inout Outcome) async throws {
        func cutoff(_ d: RetentionRules.Days) -> Date { now.addingTimeInterval(-Double(min(d.payloadDays, d.auditDays)) * 86_400) }
        let tenants = rules.tenants.keys.sorted()
        let cutoffs = tenants.map { cutoff(rules.tenants[$0]!) }
        let defaultCutoff = cutoff(rules.defaults)
        let filter = """
            p.received_at < coalesce((SELECT r.c FROM unnest($1::text[], $2::timestamptz[]) AS r(t, c) WHERE r.t = p.tenant_id), $3)
            AND NOT EXISTS (SELECT 1 FROM legal_holds h WHERE h.tenant_id = p.tenant_id AND h.released_at IS NULL
                AND (h.from_ts IS NULL OR p.received_at >= h.from_ts) AND (h.to_ts IS NULL OR p.received_at < h.to_ts))
            """
        func binds() -> PostgresBindings {
            var b = PostgresBindings()
            b.append(tenants); b.append(cutoffs); b.append(defaultCutoff)
            return b
        }
        if dryRun {
            for try await n in try await conn.query(PostgresQuery(unsafeSQL: "SELECT count(*) FROM audit_payloads p WHERE \(filter)", binds: binds()), logger: logger).decode(Int64.self) {
                outcome.payloadsDeleted = Int(n)
            }
            return
        }
        while true {
            var deleted = 0
            for try await _ in try await conn.query(PostgresQuery(unsafeSQL: """
                DELETE FROM audit_payloads WHERE ctid IN (SELECT p.ctid FROM audit_payloads p WHERE \(filter) LIMIT \(batchSize)) RETURNING 1
                """, binds: binds()), logger: logger) { deleted += 1 }
            outcome.payloadsDeleted += deleted
            if deleted < batchSize { break }
        }
    }

    // MARK: run records

    private func startRun(dryRun: Bool, trigger: String, at: Date) async throws -> Int64 {
        for try await id in try await client.query("""
            INSERT INTO retention_runs (started_at, dry_run, trigger, status) VALUES (\(at), \(dryRun), \(trigger), 'running') RETURNING id
            """, logger: logger).decode(Int64.self) { return id }
        throw AirlockError(.internalError, "retention run was not recorded")
    }

    private func finishRun(_ id: Int64, outcome: Outcome, status: String, error: String?) async throws {
        _ = try await client.query("""
            UPDATE retention_runs SET finished_at = now(), status = \(status), partitions_dropped = \(outcome.partitionsDropped),
                events_redacted = \(Int64(outcome.eventsRedacted)), payloads_deleted = \(Int64(outcome.payloadsDeleted)),
                held_tenants = \(outcome.heldTenants), error = \(error)
            WHERE id = \(id)
            """, logger: logger)
    }
}
