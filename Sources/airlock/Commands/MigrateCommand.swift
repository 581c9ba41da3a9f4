import AirlockGateway
import AirlockStore
import ArgumentParser

struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Apply pending database migrations and exit.")

    @OptionGroup var options: CommonOptions

    @Option(help: "Folder with the numbered SQL migrations (default: ./Migrations).")
    var migrations: String?

    @Flag(help: "Only report applied and pending migrations.")
    var status = false

    func run() async throws {
        let configuration = try options.loadConfiguration()
        let logger = options.makeLogger(configuration)
        let files = try Migration.load(from: migrations ?? Migration.defaultDirectory())
        let database = try await DatabaseSetup.open(configuration: configuration.database, logger: logger)
        do {
            try await database.withRunningClient { client in
                let migrator = Migrator(client: client, logger: logger)
                if status {
                    let s = try await migrator.status(files)
                    print("applied: \(s.applied.map(String.init).joined(separator: ", "))")
                    print("pending: \(s.pending.map(String.init).joined(separator: ", "))")
                } else {
                    let applied = try await migrator.migrate(files)
                    print(applied.isEmpty ? "database is up to date" : "applied migrations: \(applied.map(String.init).joined(separator: ", "))")
                }
            }
        } catch {
            await database.close(logger: logger)
            throw error
        }
        await database.close(logger: logger)
    }
}
