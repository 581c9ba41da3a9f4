import AirlockGateway
import AirlockStore
import ArgumentParser
import Foundation
import Logging

/// Controls the managed PostgreSQL on its own: tests and scripts use it to get a real
/// database without Airlock serving.
struct DatabaseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "db",
        abstract: "Manage the local PostgreSQL server Airlock runs when no database URL is set.",
        subcommands: [Start.self, Stop.self, Status.self])

    struct Location: ParsableArguments {
        @Option(help: "Folder for the managed server (default .airlock/postgres or $AIRLOCK_DATA_DIR).")
        var dataDir: String?
        @Option(help: "Database to create inside it.") var database = "airlock"

        func managed() throws -> ManagedPostgres {
            try ManagedPostgres(rootDirectory: dataDir ?? ProcessInfo.processInfo.environment["AIRLOCK_DATA_DIR"] ?? ".airlock/postgres", databaseName: database)
        }
    }

    struct Start: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Initialise if needed, start, and print the database URL.")
        @OptionGroup var location: Location
        func run() async throws {
            LoggingBootstrap.once()
            var logger = Logger(label: "airlock.db")
            logger.logLevel = .warning
            let managed = try location.managed()
            try await managed.start(logger: logger)
            print(managed.url.description)
        }
    }

    struct Stop: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop the managed server.")
        @OptionGroup var location: Location
        func run() async throws {
            LoggingBootstrap.once()
            try location.managed().stop(logger: Logger(label: "airlock.db"))
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Exit 0 and print the URL if the managed server runs, else exit 3.")
        @OptionGroup var location: Location
        func run() async throws {
            let managed = try location.managed()
            guard managed.isRunning else {
                print("not running")
                throw ExitCode(3)
            }
            print(managed.url.description)
        }
    }
}
