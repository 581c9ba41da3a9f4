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

/// Who an admin command acts as, recorded with policy versions.
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
