import Logging
import PostgresNIO

extension PostgresClient {
    /// Runs `body` between BEGIN and COMMIT on one pooled connection, rolling back on any
    /// error and rethrowing that error as is (PostgresNIO's `withTransaction` wraps it, which
    /// would hide our `GovernanceError`s from callers).
    func governanceTransaction<Result: Sendable>(
        _ begin: PostgresQuery = "BEGIN",
        logger: Logger,
        _ body: @Sendable (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        try await withConnection { connection in
            try await connection.governanceTransaction(begin, logger: logger, body)
        }
    }
}

extension PostgresConnection {
    /// The same on this connection (one opened outside the pool).
    func governanceTransaction<Result: Sendable>(
        _ begin: PostgresQuery = "BEGIN",
        logger: Logger,
        _ body: (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        try await query(begin, logger: logger)
        do {
            let result = try await body(self)
            try await query("COMMIT", logger: logger)
            return result
        } catch {
            _ = try? await query("ROLLBACK", logger: logger)
            throw error
        }
    }
}
