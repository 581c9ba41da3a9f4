import AirlockAudit
import AirlockCore
import ArgumentParser
import Foundation
import Logging

/// `airlock audit …`: read, export, report and verify the audit trail.
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Search, export, report on and verify the tamper-evident audit trail.",
        subcommands: [AuditSearchCommand.self, AuditExportCommand.self, AuditReportCommand.self, AuditVerifyCommand.self,
                      AuditShowCommand.self, AuditBenchCommand.self])
}

/// Names of the environment variables that hold the audit keys (never the keys).
struct AuditKeyOptions: ParsableArguments {
    @Option(help: "Environment variable holding the HMAC checkpoint key (hex or base64).")
    var checkpointKeyEnv = "AIRLOCK_AUDIT_CHECKPOINT_KEY"

    func checkpointKey() throws -> AuditKey? { try AuditKey.fromEnvironment(checkpointKeyEnv, purpose: "checkpoint") }
}

/// The filters `search`, `export` and `report` share.
struct AuditFilterOptions: ParsableArguments {
    @Option(help: "Tenant id.") var tenant: String?
    @Option(help: "Start of the period (inclusive): 2026-11-01 or 2026-11-01T08:00:00Z.") var from: String?
    @Option(help: "End of the period (exclusive).") var to: String?
    @Option(help: "Decision: allowed, transformed, blocked, failed, admin.") var decision: String?
    @Option(help: "Entity type found, e.g. KR_RRN.") var entityType: String?
    @Option(help: "Provider name.") var provider: String?
    @Option(help: "Destination region: a country or bloc (us, kr, eu) covers its regions (us-east, …); an exact region only itself; local for the in-process engine.") var region: String?
    @Option(help: "Requested model.") var model: String?

    func query(limit: Int? = nil) throws -> AuditQuery {
        if let decision, AuditEvent.Decision(rawValue: decision) == nil {
            throw ValidationError("unknown decision '\(decision)'; expected one of \(AuditEvent.Decision.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return AuditQuery(tenantID: tenant, from: try from.map(AuditDates.parse), to: try to.map(AuditDates.parse), decision: decision,
                          entityType: entityType?.uppercased(), provider: provider, region: region?.lowercased(), model: model, limit: limit)
    }
}

enum AuditDates {
    /// `YYYY-MM-DD` (UTC midnight) or an ISO 8601 date-time.
    static func parse(_ text: String) throws -> Date {
        // The formatter accepts a date followed by anything ("2026-01-01' OR '1'='1"); only
        // the characters of a date-time are let through.
        guard !text.isEmpty, text.allSatisfy({ $0.isASCII && ($0.isNumber || "-:.TZ+".contains($0)) }) else {
            throw ValidationError("invalid date '\(text)': use 2026-11-01 or 2026-11-01T08:00:00Z")
        }
        let iso = ISO8601DateFormatter()
        if let d = iso.date(from: text) { return d }
        iso.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let d = iso.date(from: text) { return d }
        iso.formatOptions = [.withFullDate]
        if let d = iso.date(from: text) { return d }
        throw ValidationError("invalid date '\(text)': use 2026-11-01 or 2026-11-01T08:00:00Z")
    }
}

/// Buffered stdout for streaming exports: one write per 64 KiB, constant memory.
struct StdoutBuffer {
    var bytes: [UInt8] = []
    init() { bytes.reserveCapacity(1 << 16) }
    mutating func line(_ s: String) {
        bytes.append(contentsOf: s.utf8)
        bytes.append(0x0A)
        if bytes.count >= 1 << 16 { flush() }
    }
    mutating func flush() {
        guard !bytes.isEmpty else { return }
        FileHandle.standardOutput.write(Data(bytes))
        bytes.removeAll(keepingCapacity: true)
    }
}

struct AuditSearchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "search", abstract: "List matching events, newest first.")
    @OptionGroup var admin: AdminOptions
    @OptionGroup var filters: AuditFilterOptions
    @Option(help: "Most rows to print.") var limit = 50
    @Flag(help: "Print JSON lines instead of a table.") var json = false

    func run() async throws {
        let query = try filters.query(limit: limit)
        let json = json
        try await admin.withStore { store, logger in
            let rows = try await AuditReader(client: store.client, logger: logger).search(query)
            if json {
                var out = StdoutBuffer()
                for r in rows { out.line(r.json.serialized) }
                out.flush()
                return
            }
            let table = rows.map { r -> [String] in
                [r.json["received_at"]?.stringValue ?? "", r.tenantID, r.decision, r.requestedModel ?? "-", r.provider ?? "-", r.region ?? "-",
                 zip(r.entityTypes, r.entityCounts).map { "\($0)×\($1)" }.joined(separator: ","), r.status.map(String.init) ?? "-",
                 "\(r.chainID)#\(r.seq)", r.eventID.uuidString.lowercased()]
            }
            print(AdminTable.render(["RECEIVED", "TENANT", "DECISION", "MODEL", "PROVIDER", "REGION", "ENTITIES", "STATUS", "CHAIN", "EVENT"], table))
        }
    }
}

struct AuditExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export", abstract: "Stream every matching event to stdout (any volume, constant memory).")
    enum Format: String, ExpressibleByArgument { case jsonl, csv }
    @OptionGroup var admin: AdminOptions
    @OptionGroup var filters: AuditFilterOptions
    @Option(help: "jsonl or csv.") var format: Format = .jsonl

    func run() async throws {
        let query = try filters.query()
        let format = format
        try await admin.withStore { store, logger in
            var out = StdoutBuffer()
            if format == .csv { out.line(AuditRecord.csvHeader) }
            try await AuditReader(client: store.client, logger: logger).stream(query) { record in
                out.line(format == .csv ? record.csvLine : record.json.serialized)
            }
            out.flush()
        }
    }
}

struct AuditReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Calls by decision, entity types, destinations by region, tokens and cost by model, cost avoided by local answers.")
    @OptionGroup var admin: AdminOptions
    @OptionGroup var filters: AuditFilterOptions
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        let query = try filters.query()
        let json = json
        try await admin.withStore { store, logger in
            let report = try await AuditReader(client: store.client, logger: logger).report(query)
            if json { print(report.json.serialized); return }
            func money(_ v: Double) -> String { String(format: "$%.4f", v) }
            print("tenant \(query.tenantID ?? "(all)"), \(query.from.map(AdminTable.timestamp) ?? "beginning") – \(query.to.map(AdminTable.timestamp) ?? "now")")
            print("calls: \(report.totalCalls)")
            print(AdminTable.render(["DECISION", "CALLS"], report.byDecision.sorted { $0.key < $1.key }.map { [$0.key, String($0.value)] }))
            print("")
            print(AdminTable.render(["ENTITY TYPE", "FOUND"], report.entityTypes.sorted { $0.value > $1.value }.map { [$0.key, String($0.value)] }))
            print("")
            print(AdminTable.render(["REGION", "PROVIDER", "CALLS"], report.destinations.map { [$0.region.isEmpty ? "-" : $0.region, $0.provider.isEmpty ? "-" : $0.provider, String($0.calls)] }))
            print("")
            print(AdminTable.render(["MODEL", "CALLS", "PROMPT TOKENS", "COMPLETION TOKENS", "COST"],
                                    report.models.map { [$0.model.isEmpty ? "-" : $0.model, String($0.calls), String($0.promptTokens), String($0.completionTokens), money($0.costUSD)] }))
            print("")
            print("cost: \(money(report.costUSD)); local answers: \(report.localCalls), cost avoided: \(money(report.costAvoidedUSD))")
        }
    }
}

struct AuditVerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Recompute every hash chain and name the first broken sequence (exit 1 when any chain is broken).")
    @OptionGroup var admin: AdminOptions
    @OptionGroup var keys: AuditKeyOptions
    @Option(help: "Only the span of events received from this time.") var from: String?
    @Option(help: "Only the span of events received before this time.") var to: String?
    @Option(help: "Only this chain.") var chain: String?

    func run() async throws {
        let from = try from.map(AuditDates.parse), to = try to.map(AuditDates.parse)
        let key = try keys.checkpointKey()
        let chain = chain
        let ok = try await admin.withStore { store, logger in
            let started = ContinuousClock.now
            let report = try await ChainVerifier(client: store.client, logger: logger, checkpointKey: key).verify(from: from, to: to, chainID: chain)
            let elapsed = ContinuousClock.now - started
            for c in report.chains {
                let span = c.firstSeq.map { "\($0)…\(c.lastSeq ?? $0)" } ?? "no rows"
                let extra = (c.redactedEvents > 0 ? ", \(c.redactedEvents) redacted by retention" : "") + (c.checkpointsChecked > 0 ? ", \(c.checkpointsChecked) checkpoints" : "")
                if let p = c.problem {
                    print("chain \(c.chainID): BROKEN at \(p)")
                } else {
                    print("chain \(c.chainID): ok, \(c.eventsChecked) events (\(span))\(extra)")
                }
            }
            if key == nil { print("signatures not checked: set \(keys.checkpointKeyEnv) to check chain heads, checkpoints and redactions") }
            print("verified \(report.eventsChecked) events in \(report.chains.count) chains in \(elapsed.formatted(.units(allowed: [.seconds, .milliseconds])))")
            return report.ok
        }
        if !ok { throw ExitCode.failure }
    }
}

struct AuditShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show", abstract: "Show one event by event id or request id; --decrypt prints captured bodies (needs the payload key).")
    @OptionGroup var admin: AdminOptions
    @Argument(help: "Event id or request id.") var id: String
    @Flag(help: "Decrypt the captured prompt and answer.") var decrypt = false
    @Option(help: "Environment variable holding the payload key (hex or base64).") var payloadKeyEnv = "AIRLOCK_AUDIT_PAYLOAD_KEY"

    func run() async throws {
        let key: AuditKey?
        if decrypt {
            guard let k = try AuditKey.fromEnvironment(payloadKeyEnv, purpose: "payload") else {
                printError("--decrypt needs the payload key in $\(payloadKeyEnv)")
                throw ExitCode.failure
            }
            key = k
        } else { key = nil }
        let id = id
        try await admin.withStore { store, logger in
            guard let (record, payload) = try await AuditReader(client: store.client, logger: logger).event(id: id) else {
                throw AirlockError(.invalidRequest, "no audit event with id \(id)")
            }
            print(record.json.serialized)
            guard let key else { return }
            guard let payload else { throw AirlockError(.invalidRequest, "no payload was captured for this event (or retention removed it)") }
            let plain = try payload.decrypt(with: key)
            print("--- request")
            print(String(decoding: plain.request, as: UTF8.self))
            print("--- response")
            print(String(decoding: plain.response, as: UTF8.self))
            _ = try? await AdminAuditLog(client: store.client, logger: logger, checkpointKey: try? AuditKeyOptions().checkpointKey())
                .record(.admin(action: "audit.payload.decrypt", actor: AdminOperator.name(nil), tenantID: record.tenantID, target: record.eventID.uuidString.lowercased()))
        }
    }
}
