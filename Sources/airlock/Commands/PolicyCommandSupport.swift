import AirlockAudit
import AirlockCore
import AirlockGateway
import AirlockStore
import ArgumentParser
import Foundation
import Logging
import PostgresNIO

/// Options and plumbing shared by the admin commands (`tenant`, `key`, `provider`, `policy`):
/// open the configured database, apply pending migrations, hand over a `GovernanceStore`,
/// and turn every failure into one line on stderr and exit status 1.
struct AdminOptions: ParsableArguments {
    @OptionGroup var common: CommonOptions

    @Option(help: "Folder with the numbered SQL migrations (default: ./Migrations).")
    var migrations: String?

    /// Runs `body` against the configured database. Admin commands log warnings and worse
    /// unless --log-level says otherwise, so their stdout and stderr stay readable.
    func withStore<T: Sendable>(_ body: @escaping @Sendable (GovernanceStore, Logger) async throws -> T) async throws -> T {
        do {
            var configuration = try common.loadConfiguration()
            if common.logLevel == nil { configuration.logLevel = "warning" }
            let logger = common.makeLogger(configuration, label: "airlock.admin")
            // The pool's own chatter (e.g. a lease queued just before it starts running) is
            // not news to an operator running one command; real failures are still thrown.
            var poolLogger = logger
            if common.logLevel == nil { poolLogger.logLevel = .error }
            let files = try Migration.load(from: migrations ?? Migration.defaultDirectory())
            let database = try await DatabaseSetup.open(configuration: configuration.database, logger: poolLogger)
            do {
                let result = try await database.withRunningClient { client in
                    try await Migrator(client: client, logger: logger).migrate(files)
                    return try await body(GovernanceStore(client: client, logger: logger), logger)
                }
                await database.close(logger: poolLogger)
                return result
            } catch {
                await database.close(logger: poolLogger)
                throw error
            }
        } catch {
            throw AdminFailure.exit(for: error)
        }
    }
}

extension AdminOptions {
    /// `withStore` for commands that change state: `body` gets an `AdminAudit` that records
    /// each change on the admin audit chain, as `actor` (`--by`, else `$AIRLOCK_OPERATOR`,
    /// else `cli:$USER`). The checkpoint key is read (from the configured
    /// `audit.checkpoint_key_env`) before anything changes, so a bad key changes nothing.
    func withAudit<T: Sendable>(by: String?, _ body: @escaping @Sendable (GovernanceStore, AdminAudit) async throws -> T) async throws -> T {
        let actor = AdminOperator.name(by)
        let key: AuditKey?
        do {
            key = try AuditKey.fromEnvironment(try common.loadConfiguration().audit.checkpointKeyEnv, purpose: "audit checkpoint")
        } catch {
            throw AdminFailure.exit(for: error)
        }
        return try await withStore { store, logger in
            try await body(store, AdminAudit(log: AdminAuditLog(client: store.client, logger: logger, checkpointKey: key), actor: actor))
        }
    }
}

/// Records administrative changes (tenant, key, provider, policy) on the shared admin chain.
///
/// When recording fails: a change and its audit event are two writes — the repository commits
/// its own transaction, `AdminAuditLog` appends under the chain-head lock — so they cannot
/// share one transaction. Commands make the change first, then record it. If the record
/// cannot be written the command fails loudly (one line on stderr naming the action and
/// target, exit status 1) and says the change took effect unaudited, so the operator can
/// check or revert it; it never exits 0 for an unaudited change. A new API key is the one
/// exception: it is revoked again and never printed, so no unaudited credential exists.
/// Commands that changed nothing (identical policy apply, rollback to the active version,
/// import with nothing to do) record nothing and so cannot fail on the audit log.
/// `details` must hold no secret or personal data: ids, versions, digests, counts only.
struct AdminAudit: Sendable {
    let log: AdminAuditLog
    let actor: String

    func record(_ action: String, tenant: String = AuditEvent.systemTenant, target: String? = nil,
                details: [String: String] = [:]) async throws {
        do {
            try await log.record(.admin(action: action, actor: actor, tenantID: tenant, target: target, details: details))
        } catch {
            throw AdminAuditFailure(action: action, target: target, reason: AdminFailure.describe(error))
        }
    }
}

/// A change whose admin audit event could not be written. Its text names the action and
/// target (ids only) and what became of the change.
struct AdminAuditFailure: Error, CustomStringConvertible {
    var action: String
    var target: String?
    var reason: String
    var outcome = "the change took effect but is NOT in the admin audit log"

    var description: String {
        "\(action)\(target.map { " \($0)" } ?? ""): \(outcome): \(reason)"
    }
}

/// Prints a failure the way every admin command does and picks the exit status.
enum AdminFailure {
    static func exit(for error: any Error) -> any Error {
        switch error {
        case let exit as ExitCode: return exit
        case let validation as ValidationError: return validation
        default:
            printError(describe(error))
            return ExitCode.failure
        }
    }

    /// One line, except for document problems (one `file:line:column: …` line each).
    static func describe(_ error: any Error) -> String {
        switch error {
        case let e as GovernanceError: return e.description
        case let e as AirlockError: return e.message
        case let e as PSQLError:
            // PSQLError hides details from `description` on purpose; the server's primary
            // message names constraints and objects, never row values (those are in `detail`).
            if let message = e.serverInfo?[.message] {
                return "database error: \(message) (SQLSTATE \(e.serverInfo?[.sqlState] ?? "?"))"
            }
            return "database unavailable (\(e.code))"
        default: return String(describing: error)
        }
    }
}

func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// Who an admin command acts as, recorded with policy versions and admin audit events.
enum AdminOperator {
    static func name(_ explicit: String?) -> String {
        if let explicit { return explicit }
        let env = ProcessInfo.processInfo.environment
        return env["AIRLOCK_OPERATOR"] ?? "cli:\(env["USER"] ?? env["LOGNAME"] ?? "unknown")"
    }
}

/// Column-aligned plain-text tables for list commands.
enum AdminTable {
    static func render(_ header: [String], _ rows: [[String]]) -> String {
        let all = [header] + rows
        let widths = header.indices.map { i in all.map { $0[i].count }.max() ?? 0 }
        return all.map { row in
            row.indices.map { i in i == row.count - 1 ? row[i] : row[i].padding(toLength: widths[i], withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }.joined(separator: "\n")
    }

    static func timestamp(_ date: Date) -> String { date.formatted(.iso8601) }
}
