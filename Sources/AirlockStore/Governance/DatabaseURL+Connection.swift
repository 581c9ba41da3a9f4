import Logging
import NIOCore
import PostgresNIO

extension DatabaseURL {
    /// Settings for one dedicated connection (the listener's, the audit writer's probe),
    /// outside the pool.
    public func connectionConfiguration() throws -> PostgresConnection.Configuration {
        if let socketPath {
            return PostgresConnection.Configuration(unixSocketPath: socketPath, username: username, password: password, database: database)
        }
        let tls: PostgresConnection.Configuration.TLS = requireTLS ? .require(try .init(configuration: .makeClientConfiguration())) : .disable
        return PostgresConnection.Configuration(host: host, port: port, username: username, password: password, database: database, tls: tls)
    }

    /// True when a fresh connection (outside any pool) cannot be opened within `timeout`: the
    /// server is gone, not merely slow. A pool waits for its own reconnects with backoff, so a
    /// query sent to it after the server died just waits; this tells the caller at once. A
    /// server that answers, even with an error (wrong password, too many connections), is
    /// there, unless the error is that it is starting or shutting down.
    public func refusesConnections(within timeout: Duration, logger: Logger) async -> Bool {
        guard let configuration = try? freshConfiguration(timeout: timeout) else { return false }  // no verdict without TLS settings
        do {
            try await Self.withConnection(configuration, logger: logger) { _ in }
            return false
        } catch let error as PSQLError where error.serverInfo != nil {
            // 57P03: starting up, shutting down or in recovery, so not taking connections.
            return error.serverInfo?[.sqlState] == "57P03"
        } catch {
            return true
        }
    }

    /// Runs `body` on a connection of its own (outside any pool), closed afterwards. Opening it
    /// fails within `timeout` when the server is gone.
    public func withFreshConnection<Result: Sendable>(timeout: Duration = .seconds(2), logger: Logger,
                                                      _ body: (PostgresConnection) async throws -> Result) async throws -> Result {
        try await Self.withConnection(freshConfiguration(timeout: timeout), logger: logger, body)
    }

    /// Opens a connection of its own (outside any pool) on `eventLoop` (any of the default
    /// group's when nil); the caller closes it. Fails within `timeout` when the server is gone.
    public func openFreshConnection(timeout: Duration, on eventLoop: (any EventLoop)? = nil, logger: Logger) async throws -> PostgresConnection {
        try await Self.open(freshConfiguration(timeout: timeout), on: eventLoop, logger: logger)
    }

    /// `connectionConfiguration()` with `timeout` for opening the connection, startup included.
    private func freshConfiguration(timeout: Duration) throws -> PostgresConnection.Configuration {
        var configuration = try connectionConfiguration()
        configuration.options.connectTimeout = TimeAmount(timeout)
        return configuration
    }

    private static func withConnection<Result: Sendable>(_ configuration: PostgresConnection.Configuration, logger: Logger,
                                                         _ body: (PostgresConnection) async throws -> Result) async throws -> Result {
        let connection = try await open(configuration, on: nil, logger: logger)
        do {
            let result = try await body(connection)
            try? await connection.close()
            return result
        } catch {
            try? await connection.close()
            throw error
        }
    }

    /// True when a fresh connection answers `SELECT 1` (the readiness check while the pool
    /// still waits out its reconnect backoff).
    public func answersQueries(within timeout: Duration, logger: Logger) async -> Bool {
        do {
            return try await withFreshConnection(timeout: timeout, logger: logger) { connection in
                for try await _ in try await connection.query("SELECT 1", logger: logger) {}
                return true
            }
        } catch {
            return false
        }
    }

    private static func open(_ configuration: PostgresConnection.Configuration, on eventLoop: (any EventLoop)?, logger: Logger) async throws -> PostgresConnection {
        try await PostgresConnection.connect(on: eventLoop ?? PostgresClient.defaultEventLoopGroup.any(), configuration: configuration, id: 0, logger: logger)
    }
}
