import AirlockAudit
import Foundation
import Logging
import PostgresNIO

/// The few reads the console needs that the CLI does not already have in a library
/// (`AuditReader` covers search, export, reports and events; `ChainVerifier`, `LegalHolds`
/// and the repositories the rest). Each is an aggregate over an indexed range.
struct ConsoleQueries: Sendable {
    let client: PostgresClient
    let logger: Logger

    /// The oldest event's time (the `received_at` index makes this one index probe).
    func oldestEvent() async throws -> Date? {
        for try await d in try await client.query("SELECT min(received_at) FROM audit_events", logger: logger).decode(Date?.self) { return d }
        return nil
    }

    /// The oldest event of a tenant (primary key probe per partition).
    func oldestEvent(tenant: String) async throws -> Date? {
        for try await d in try await client.query("SELECT min(received_at) FROM audit_events WHERE tenant_id = \(tenant)", logger: logger)
            .decode(Date?.self) { return d }
        return nil
    }

    struct ChainHead: Sendable {
        var chainID: String
        var lastSeq: Int64
        var updatedAt: Date
        var signed: Bool
    }

    func chainHeads() async throws -> [ChainHead] {
        var out: [ChainHead] = []
        for try await (id, seq, at, signed) in try await client.query(
            "SELECT chain_id, last_seq, updated_at, mac IS NOT NULL FROM audit_chains ORDER BY chain_id", logger: logger)
            .decode((String, Int64, Date, Bool).self) {
            out.append(ChainHead(chainID: id, lastSeq: seq, updatedAt: at, signed: signed))
        }
        return out
    }

    struct VerificationRun: Sendable {
        var id: Int64
        var startedAt: Date
        var finishedAt: Date
        var operatorID: String
        var from: Date?
        var to: Date?
        var chains: Int
        var events: Int
        var ok: Bool
        var signaturesChecked: Bool
        var problems: [String]
    }

    func verificationRuns(limit: Int = 10) async throws -> [VerificationRun] {
        var out: [VerificationRun] = []
        for try await row in try await client.query("""
            SELECT id, started_at, finished_at, operator_id, range_from, range_to, chains, events_checked, ok, signatures_checked, problems
            FROM console_verification_runs ORDER BY id DESC LIMIT \(limit)
            """, logger: logger).decode((Int64, Date, Date, String, Date?, Date?, Int32, Int64, Bool, Bool, [String]).self) {
            out.append(VerificationRun(id: row.0, startedAt: row.1, finishedAt: row.2, operatorID: row.3, from: row.4, to: row.5, chains: Int(row.6),
                                       events: Int(row.7), ok: row.8, signaturesChecked: row.9, problems: row.10))
        }
        return out
    }

    func recordVerification(_ run: VerificationRun) async throws -> Int64 {
        for try await id in try await client.query("""
            INSERT INTO console_verification_runs (started_at, finished_at, operator_id, range_from, range_to, chains, events_checked, ok, signatures_checked, problems)
            VALUES (\(run.startedAt), \(run.finishedAt), \(run.operatorID), \(run.from), \(run.to), \(Int32(run.chains)), \(Int64(run.events)), \(run.ok), \(run.signaturesChecked), \(run.problems))
            RETURNING id
            """, logger: logger).decode(Int64.self) { return id }
        return 0
    }

    struct RetentionRun: Sendable {
        var id: Int64
        var startedAt: Date
        var finishedAt: Date?
        var dryRun: Bool
        var trigger: String
        var status: String
        var partitionsDropped: Int
        var eventsRedacted: Int
        var payloadsDeleted: Int
        var heldTenants: [String]
    }

    /// The last runs of `RetentionRunner` (`retention_runs`), newest first.
    func retentionRuns(limit: Int = 10) async throws -> [RetentionRun] {
        var out: [RetentionRun] = []
        for try await row in try await client.query("""
            SELECT id, started_at, finished_at, dry_run, trigger, status, cardinality(partitions_dropped), events_redacted, payloads_deleted, held_tenants
            FROM retention_runs ORDER BY id DESC LIMIT \(limit)
            """, logger: logger).decode((Int64, Date, Date?, Bool, String, String, Int32, Int64, Int64, [String]).self) {
            out.append(RetentionRun(id: row.0, startedAt: row.1, finishedAt: row.2, dryRun: row.3, trigger: row.4, status: row.5,
                                    partitionsDropped: Int(row.6), eventsRedacted: Int(row.7), payloadsDeleted: Int(row.8), heldTenants: row.9))
        }
        return out
    }
}
