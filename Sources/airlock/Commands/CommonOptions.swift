import AirlockCore
import AirlockGateway
import ArgumentParser
import Foundation
import Logging

/// Options every command that touches configuration or the database shares.
struct CommonOptions: ParsableArguments {
    @Option(name: .shortAndLong, help: "Configuration file (default: $AIRLOCK_CONFIG, else ./airlock.yaml when present).")
    var config: String?

    @Option(help: "PostgreSQL URL (overrides $AIRLOCK_DATABASE_URL and the managed database).")
    var databaseURL: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String?

    func loadConfiguration() throws -> GatewayConfiguration {
        var configuration = try GatewayConfiguration.load(path: config)
        if let databaseURL { configuration.database.url = databaseURL }
        if let logLevel { configuration.logLevel = logLevel }
        return configuration
    }

    func makeLogger(_ configuration: GatewayConfiguration, label: String = "airlock", format: LogFormat = .text) -> Logger {
        LoggingBootstrap.once(format: format)
        var logger = Logger(label: label)
        logger.logLevel = Logger.Level(rawValue: configuration.logLevel) ?? .info
        return logger
    }
}

enum LoggingBootstrap {
    nonisolated(unsafe) private static var done = false
    /// Logs go to stderr so stdout stays clean for command output. `AIRLOCK_LOG_FORMAT`
    /// (`json` or `text`) overrides the command's default format; either way third-party
    /// libraries are held to `info` and above (see `LibraryLogFloor`).
    static func once(format: LogFormat = .text) {
        guard !done else { return }
        done = true
        let chosen = LogFormat.from(environment: ProcessInfo.processInfo.environment, fallback: format)
        LoggingSystem.bootstrap { label in chosen.makeHandler(label: label) }
    }
}
