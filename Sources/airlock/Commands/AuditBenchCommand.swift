import AirlockAudit
import AirlockCore
import AirlockGateway
import AirlockStore
import ArgumentParser
import Foundation
import Logging
import PostgresNIO

/// `airlock audit bench`: writer throughput, verification speed and indexed query timings
/// against the configured PostgreSQL, in a scratch database that is dropped afterwards.
/// Prints one JSON object. Build with `-c release`.
struct AuditBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench", abstract: "Benchmark the audit writer, verification and queries (prints JSON).")
    @OptionGroup var common: CommonOptions
    @Option(help: "Events to write through the AuditWriter.") var events = 200_000
    @Option(help: "Concurrent producer tasks calling record().") var producers = 4
    @Option(help: "Extra synthetic rows bulk-loaded (SQL) before timing queries, e.g. 10000000.") var queryRows = 0
    @Option(help: "Scratch database name.") var database = "airlock_audit_bench"
    @Flag(help: "Keep the scratch database.") var keep = false

    func run() async throws {
        var configuration = try common.loadConfiguration()
        if common.logLevel == nil { configuration.logLevel = "warning" }
        let logger = common.makeLogger(configuration, label: "airlock.bench")
        var quiet = logger
        quiet.logLevel = .error
        let setup = try await DatabaseSetup.open(configuration: configuration.database, logger: quiet)
        let name = database
        var url = setup.url
        url.database = name
        var config = url.clientConfiguration
        config.options.maximumConnections = 8
        let benchConfig = config, benchLogger = quiet
        let (events, producers, queryRows, keep) = (events, producers, queryRows, keep)
        do {
            // One running admin client for the whole run: a PostgresClient runs only once.
            try await setup.withRunningClient { admin in
                _ = try await admin.query(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(name) WITH (FORCE)"), logger: logger)
                _ = try await admin.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: logger)
                let client = PostgresClient(configuration: benchConfig, backgroundLogger: benchLogger)
                let result = try await withThrowingTaskGroup(of: Void.self) { group -> JSONValue in
                    group.addTask { await client.run() }
                    defer { group.cancelAll() }
                    try await Migrator(client: client, logger: benchLogger).migrate(Migration.load(from: Migration.defaultDirectory()))
                    return try await AuditBench(client: client, logger: logger).run(events: events, producers: producers, queryRows: queryRows)
                }
                print(result.serialized)
                if !keep {
                    _ = try await admin.query(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(name) WITH (FORCE)"), logger: logger)
                }
            }
        } catch {
            await setup.close(logger: quiet)
            throw AdminFailure.exit(for: error)
        }
        await setup.close(logger: quiet)
    }
}

