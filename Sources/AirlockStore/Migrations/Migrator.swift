import AirlockCore
import Logging
import PostgresNIO

/// Applies migrations in order, each in its own transaction, and records them with their
/// checksum in `schema_migrations`. An applied migration whose file changed is a startup
/// error: silently running a different schema than the one recorded is how data gets lost.
public struct Migrator: Sendable {
    public let client: PostgresClient
    public let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    public struct Status: Sendable, Equatable {
        public var applied: [Int]
        public var pending: [Int]
    }

    /// Arbitrary constant for the advisory lock that serialises concurrent migrators.
    static let lockKey: Int64 = 0x41_49_52_4C_4F_43_4B

    @discardableResult
    public func migrate(_ migrations: [Migration]) async throws -> [Int] {
        try await client.withConnection { connection in
            _ = try await connection.query("SELECT pg_advisory_lock(\(Migrator.lockKey))", logger: logger)
            do {
                let applied = try await ensureTableAndRead(connection)
                try verify(migrations, against: applied)
                var newlyApplied: [Int] = []
                for migration in migrations where applied[migration.version] == nil {
                    logger.info("applying migration", metadata: ["version": "\(migration.version)", "name": .string(migration.name)])
                    // All statements and the record commit together or not at all.
                    _ = try await connection.query("BEGIN", logger: logger)
                    for statement in SQLScript.statements(migration.sql) {
                        _ = try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                    }
                    _ = try await connection.query(
                        "INSERT INTO schema_migrations (version, name, checksum) VALUES (\(migration.version), \(migration.name), \(migration.checksum))",
                        logger: logger)
                    _ = try await connection.query("COMMIT", logger: logger)
                    newlyApplied.append(migration.version)
                }
                _ = try await connection.query("SELECT pg_advisory_unlock(\(Migrator.lockKey))", logger: logger)
                return newlyApplied
            } catch {
                _ = try? await connection.query("ROLLBACK", logger: logger)
                _ = try? await connection.query("SELECT pg_advisory_unlock(\(Migrator.lockKey))", logger: logger)
                throw error
            }
        }
    }

    public func status(_ migrations: [Migration]) async throws -> Status {
        try await client.withConnection { connection in
            let applied = try await ensureTableAndRead(connection)
            try verify(migrations, against: applied)
            return Status(applied: applied.keys.sorted(), pending: migrations.map(\.version).filter { applied[$0] == nil })
        }
    }

    private func ensureTableAndRead(_ connection: PostgresConnection) async throws -> [Int: String] {
        _ = try await connection.query("""
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now())
            """, logger: logger)
        var applied: [Int: String] = [:]
        for try await (version, checksum) in try await connection.query("SELECT version, checksum FROM schema_migrations", logger: logger).decode((Int, String).self) {
            applied[version] = checksum
        }
        return applied
    }

    private func verify(_ migrations: [Migration], against applied: [Int: String]) throws(AirlockError) {
        for migration in migrations {
            if let checksum = applied[migration.version], checksum != migration.checksum {
                throw AirlockError(.notReady, "migration \(migration.version)_\(migration.name) was changed after it was applied (checksum mismatch); restore the original file and add a new migration instead")
            }
        }
        let known = Set(migrations.map(\.version))
        if let unknown = applied.keys.sorted().first(where: { !known.contains($0) }) {
            throw AirlockError(.notReady, "database has migration \(unknown) which this build does not know; upgrade Airlock")
        }
    }
}
