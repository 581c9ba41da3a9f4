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
        guard var configuration = try? connectionConfiguration() else { return false }  // no verdict without TLS settings
        configuration.options.connectTimeout = TimeAmount(timeout)
        do {
            let connection = try await PostgresConnection.connect(on: PostgresClient.defaultEventLoopGroup.any(), configuration: configuration,
                                                                  id: 0, logger: logger)
            try? await connection.close()
            return false
        } catch let error as PSQLError where error.serverInfo != nil {
            // 57P03: starting up, shutting down or in recovery, so not taking connections.
            return error.serverInfo?[.sqlState] == "57P03"
        } catch {
            return true
        }
    }
}
