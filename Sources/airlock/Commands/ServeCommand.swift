import AirlockGateway
import ArgumentParser

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Start the gateway (and a managed PostgreSQL unless a database URL is configured).")

    @OptionGroup var options: CommonOptions

    @Option(help: "Listen address (default 127.0.0.1).") var host: String?
    @Option(help: "Listen port (default 8080).") var port: Int?

    func run() async throws {
        var configuration = try options.loadConfiguration()
        if let host { configuration.listen.host = host }
        if let port { configuration.listen.port = port }
        try configuration.validate()
        // The server logs JSON lines by default (AIRLOCK_LOG_FORMAT=text for humans).
        let logger = options.makeLogger(configuration, format: .json)
        try await GatewayServer.run(configuration: configuration, logger: logger)
    }
}
