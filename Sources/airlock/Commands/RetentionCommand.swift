import AirlockAudit
import AirlockCore
import AirlockGateway
import AirlockStore
import ArgumentParser
import Foundation
import Logging

/// `airlock retention …`: run retention now, and manage legal holds.
struct RetentionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retention",
        abstract: "Expire audit data per policy (audit_days, payload_days) and manage legal holds.",
        subcommands: [Run.self, Hold.self, Release.self, Status.self])

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Drop expired day partitions and delete expired payloads now (recorded in retention_runs).")
        @OptionGroup var admin: AdminOptions
        @OptionGroup var keys: AuditKeyOptions
        @Flag(help: "Report what would be removed without removing anything.") var dryRun = false
        @Option(help: "Audit days for tenants without an active policy.") var defaultAuditDays = 90
        @Option(help: "Payload days for tenants without an active policy.") var defaultPayloadDays = 0
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let key = try keys.checkpointKey()
            let (dryRun, json) = (dryRun, json)
            let defaults = RetentionRules.Days(auditDays: defaultAuditDays, payloadDays: defaultPayloadDays)
            try await admin.withStore { store, logger in
                let rules = try await RetentionRules.fromActivePolicies(store, defaults: defaults)
                let o = try await RetentionRunner(client: store.client, logger: logger, checkpointKey: key)
                    .run(rules: rules, dryRun: dryRun, trigger: "cli", actor: AdminOperator.name(nil))
                if json {
                    print(JSONValue.object(JSONObject([
                        ("run_id", .int(Int(o.runID))), ("dry_run", .bool(o.dryRun)), ("skipped", .bool(o.skipped)),
                        ("partitions_dropped", .array(o.partitionsDropped.map(JSONValue.string))),
                        ("events_redacted", .int(o.eventsRedacted)), ("payloads_deleted", .int(o.payloadsDeleted)),
                        ("held_tenants", .array(o.heldTenants.map(JSONValue.string))),
                    ])).serialized)
                    return
                }
                if o.skipped { print("another retention run is in progress; nothing done (run \(o.runID))"); return }
                let verb = o.dryRun ? "would drop" : "dropped"
                print("retention run \(o.runID)\(o.dryRun ? " (dry run)" : ""): \(verb) \(o.partitionsDropped.count) partitions\(o.partitionsDropped.isEmpty ? "" : " (" + o.partitionsDropped.joined(separator: ", ") + ")"), \(o.dryRun ? "would redact" : "redacted") \(o.eventsRedacted) events in shared partitions, \(o.dryRun ? "would delete" : "deleted") \(o.payloadsDeleted) payloads")
                if !o.heldTenants.isEmpty { print("on legal hold: \(o.heldTenants.joined(separator: ", "))") }
            }
        }
    }

    struct Hold: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Place a legal hold: retention will not delete the tenant's data (in the range).")
        @OptionGroup var admin: AdminOptions
        @OptionGroup var keys: AuditKeyOptions
        @Option(help: "Tenant id.") var tenant: String
        @Option(help: "Hold data received from this time (default: all older data).") var from: String?
        @Option(help: "Hold data received before this time (default: until released).") var to: String?
        @Option(help: "Why (case number); stored and audited.") var reason: String
        @Option(help: "Who places the hold (default $AIRLOCK_OPERATOR or cli:$USER).") var by: String?

        func run() async throws {
            let from = try from.map(AuditDates.parse), to = try to.map(AuditDates.parse)
            let (tenant, reason, actor) = (tenant, reason, AdminOperator.name(by))
            let key = try keys.checkpointKey()
            try await admin.withStore { store, logger in
                // A mistyped tenant id would otherwise give a hold that protects nothing.
                guard try await store.tenants.get(tenant) != nil else { throw GovernanceError(.tenantNotFound, "tenant '\(tenant)' not found") }
                let id = try await LegalHolds(client: store.client, logger: logger).place(tenantID: tenant, from: from, to: to, reason: reason, by: actor)
                try await AdminAuditLog(client: store.client, logger: logger, checkpointKey: key).record(.admin(
                    action: "legal_hold.place", actor: actor, tenantID: tenant, target: "hold \(id)",
                    details: ["from": from.map(AdminTable.timestamp) ?? "-", "to": to.map(AdminTable.timestamp) ?? "-"]))
                print("legal hold \(id) placed on tenant \(tenant)")
            }
        }
    }

    struct Release: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Release a tenant's legal holds (or one by --id).")
        @OptionGroup var admin: AdminOptions
        @OptionGroup var keys: AuditKeyOptions
        @Option(help: "Tenant id.") var tenant: String
        @Option(help: "Only this hold.") var id: Int64?
        @Option(help: "Who releases it.") var by: String?

        func run() async throws {
            let (tenant, id, actor) = (tenant, id, AdminOperator.name(by))
            let key = try keys.checkpointKey()
            try await admin.withStore { store, logger in
                let n = try await LegalHolds(client: store.client, logger: logger).release(tenantID: tenant, id: id, by: actor)
                guard n > 0 else { throw AirlockError(.invalidRequest, "tenant \(tenant) has no active legal hold\(id.map { " with id \($0)" } ?? "")") }
                try await AdminAuditLog(client: store.client, logger: logger, checkpointKey: key).record(.admin(
                    action: "legal_hold.release", actor: actor, tenantID: tenant, target: id.map { "hold \($0)" } ?? "all holds"))
                print("released \(n) legal hold\(n == 1 ? "" : "s") on tenant \(tenant)")
            }
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Active legal holds, retention per tenant and the last runs.")
        @OptionGroup var admin: AdminOptions
        @Option(help: "Only this tenant.") var tenant: String?

        func run() async throws {
            let tenant = tenant
            try await admin.withStore { store, logger in
                let holds = try await LegalHolds(client: store.client, logger: logger).active(tenantID: tenant)
                print(holds.isEmpty ? "no active legal holds" : AdminTable.render(["HOLD", "TENANT", "FROM", "TO", "BY", "REASON"], holds.map {
                    [String($0.id), $0.tenantID, $0.from.map(AdminTable.timestamp) ?? "-", $0.to.map(AdminTable.timestamp) ?? "until released", $0.createdBy, $0.reason]
                }))
                let rules = try await RetentionRules.fromActivePolicies(store, defaults: .init(auditDays: 90, payloadDays: 0))
                if !rules.tenants.isEmpty {
                    print("")
                    print(AdminTable.render(["TENANT", "AUDIT DAYS", "PAYLOAD DAYS"], rules.tenants.sorted { $0.key < $1.key }
                        .filter { tenant == nil || $0.key == tenant }.map { [$0.key, String($0.value.auditDays), String($0.value.payloadDays)] }))
                }
                var runs: [[String]] = []
                for try await (id, started, dry, trigger, status, dropped, redacted, payloads) in try await store.client.query("""
                    SELECT id, started_at, dry_run, trigger, status, cardinality(partitions_dropped), events_redacted, payloads_deleted
                    FROM retention_runs ORDER BY id DESC LIMIT 5
                    """, logger: logger).decode((Int64, Date, Bool, String, String, Int32, Int64, Int64).self) {
                    runs.append([String(id), AdminTable.timestamp(started), dry ? "dry-run" : trigger, status, String(dropped), String(redacted), String(payloads)])
                }
                print("")
                print(runs.isEmpty ? "no retention runs yet" : AdminTable.render(["RUN", "STARTED", "KIND", "STATUS", "PARTITIONS", "REDACTED", "PAYLOADS"], runs))
            }
        }
    }
}

extension RetentionRules {
    /// Per-tenant days from each tenant's active policy (`retention.audit_days`,
    /// `retention.payload_days`); `defaults` for tenants without one. The gateway's
    /// RetentionScheduler can use the same mapping on its governance snapshot.
    static func fromActivePolicies(_ store: GovernanceStore, defaults: Days) async throws -> RetentionRules {
        RetentionRules.from(snapshot: try await store.loadSnapshot(), defaults: defaults)
    }
}
