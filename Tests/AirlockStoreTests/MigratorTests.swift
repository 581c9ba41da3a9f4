import AirlockCore
import Foundation
import Logging
import PostgresNIO
import Testing
@testable import AirlockStore

/// Against the real PostgreSQL the test script starts (AIRLOCK_TEST_DATABASE_URL); each test
/// works in a database of its own.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["AIRLOCK_TEST_DATABASE_URL"] != nil, "needs AIRLOCK_TEST_DATABASE_URL (scripts/test.sh sets it)"))
struct MigratorTests {
    static let repoMigrations = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Migrations").path

    func withFreshDatabase(_ body: (PostgresClient) async throws -> Void) async throws {
        let base = try DatabaseURL(parsing: ProcessInfo.processInfo.environment["AIRLOCK_TEST_DATABASE_URL"]!)
        let name = "migrator_\(UInt32.random(in: 0...UInt32.max))"
        let logger = Logger(label: "test")
        let admin = PostgresClient(configuration: base.clientConfiguration)
        var url = base
        url.database = name
        let client = PostgresClient(configuration: url.clientConfiguration)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await admin.run() }
            group.addTask { await client.run() }
            _ = try await admin.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: logger)
            do { try await body(client) } catch {
                group.cancelAll()
                throw error
            }
            group.cancelAll()
        }
    }

    @Test func appliesShippedMigrationsInOrderOnceAndRecordsChecksums() async throws {
        try await withFreshDatabase { client in
            let migrations = try Migration.load(from: Self.repoMigrations)
            #expect(!migrations.isEmpty)
            let migrator = Migrator(client: client, logger: Logger(label: "t"))
            let first = try await migrator.migrate(migrations)
            #expect(first == migrations.map(\.version))
            #expect(try await migrator.migrate(migrations).isEmpty)
            let status = try await migrator.status(migrations)
            #expect(status.pending.isEmpty && status.applied == migrations.map(\.version))
            var checksums: [Int: String] = [:]
            for try await (v, c) in try await client.query("SELECT version, checksum FROM schema_migrations").decode((Int, String).self) { checksums[v] = c }
            #expect(checksums[1] == migrations[0].checksum)
            // The schema really exists.
            _ = try await client.query("SELECT id, name FROM tenants LIMIT 1")
        }
    }

    @Test func changedMigrationIsRefused() async throws {
        try await withFreshDatabase { client in
            let migrator = Migrator(client: client, logger: Logger(label: "t"))
            let original = [Migration(version: 1, name: "one", sql: "CREATE TABLE one (x int);")]
            try await migrator.migrate(original)
            let edited = [Migration(version: 1, name: "one", sql: "CREATE TABLE one (x bigint);")]
            do {
                try await migrator.migrate(edited)
                Issue.record("an edited migration must be refused")
            } catch let error as AirlockError {
                #expect(error.message.contains("checksum mismatch"))
            }
        }
    }

    @Test func failingMigrationLeavesNothingBehind() async throws {
        try await withFreshDatabase { client in
            let migrator = Migrator(client: client, logger: Logger(label: "t"))
            let broken = [Migration(version: 1, name: "half", sql: "CREATE TABLE half (x int); SELECT no_such_function();")]
            await #expect(throws: (any Error).self) { try await migrator.migrate(broken) }
            let tables = try await client.query("SELECT count(*) FROM pg_tables WHERE tablename = 'half'").decode(Int.self)
            for try await n in tables { #expect(n == 0) }
            #expect(try await migrator.status(broken).pending == [1])
        }
    }

    @Test func migrationFilesLoadInVersionOrderAndRejectBadNames() throws {
        let dir = NSTemporaryDirectory() + "mig-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try "B".write(toFile: dir + "/0002_b.sql", atomically: true, encoding: .utf8)
        try "A".write(toFile: dir + "/0001_a.sql", atomically: true, encoding: .utf8)
        try "ignored".write(toFile: dir + "/README.md", atomically: true, encoding: .utf8)
        #expect(try Migration.load(from: dir).map(\.name) == ["a", "b"])
        try "X".write(toFile: dir + "/bad.sql", atomically: true, encoding: .utf8)
        #expect(throws: AirlockError.self) { try Migration.load(from: dir) }
    }
}
