import AirlockStore
import Foundation
import Logging
import PostgresNIO
import Testing

/// Integration tests share one PostgreSQL server (the test script sets
/// AIRLOCK_TEST_DATABASE_URL); each test gets a database of its own, created, migrated with
/// the repository's Migrations folder, and dropped afterwards.
enum TestDatabase {
    static let urlText: String? = {
        let text = ProcessInfo.processInfo.environment["AIRLOCK_TEST_DATABASE_URL"]
        return text?.isEmpty == false ? text : nil
    }()

    static var isConfigured: Bool { urlText != nil }

    static let skipReason: Comment = "AIRLOCK_TEST_DATABASE_URL is not set; PostgreSQL integration tests skipped"

    static let logger: Logger = {
        var logger = Logger(label: "airlock.store-tests")
        logger.logLevel = .warning
        return logger
    }()

    /// The checkout this file belongs to: the first ancestor with Package.swift and Migrations/.
    static let repositoryRoot: URL = {
        var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        let fm = FileManager.default
        while dir.path != "/" {
            if fm.fileExists(atPath: dir.appendingPathComponent("Package.swift").path),
               fm.fileExists(atPath: dir.appendingPathComponent("Migrations").path) { return dir }
            dir.deleteLastPathComponent()
        }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }()

    static var migrationsDirectory: String { repositoryRoot.appendingPathComponent("Migrations").path }
    static var policiesDirectory: String { repositoryRoot.appendingPathComponent("Policies").path }

    /// Runs `body` with a store over a fresh, migrated database and that database's URL.
    static func withFreshDatabase(_ body: @Sendable (GovernanceStore, DatabaseURL) async throws -> Void) async throws {
        guard let urlText else { return }
        let base = try DatabaseURL(parsing: urlText)
        // Identifiers cannot be bound; the name is ours: gov_ + random hex.
        let name = "gov_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
        try await admin(base, "CREATE DATABASE \(name)")
        var url = base
        url.database = String(name)
        let client = PostgresClient(configuration: url.clientConfiguration, backgroundLogger: logger)
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await client.run() }
                defer { group.cancelAll() }
                // Let the pool start running before the first lease (else PostgresNIO warns).
                try await Task.sleep(for: .milliseconds(20))
                try await Migrator(client: client, logger: logger).migrate(Migration.load(from: migrationsDirectory))
                try await body(GovernanceStore(client: client, logger: logger), url)
            }
        } catch {
            try? await admin(base, "DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
            throw error
        }
        try? await admin(base, "DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
    }

    /// One statement on a short-lived connection to the server's configured database.
    static func admin(_ url: DatabaseURL, _ sql: String) async throws {
        let connection = try await PostgresConnection.connect(configuration: url.connectionConfiguration(), id: 1, logger: logger)
        do {
            try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger)
        } catch {
            try? await connection.close()
            throw error
        }
        try await connection.close()
    }

    /// Terminates the server processes of a database's connections that are LISTENing, as a
    /// database restart or a network cut would.
    static func terminateListeners(_ url: DatabaseURL) async throws -> Int {
        let connection = try await PostgresConnection.connect(configuration: url.connectionConfiguration(), id: 2, logger: logger)
        var count = 0
        do {
            let rows = try await connection.query("""
                SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                WHERE datname = \(url.database) AND pid <> pg_backend_pid() AND query ILIKE 'LISTEN%'
                """, logger: logger)
            for try await ok in rows.decode(Bool.self) where ok { count += 1 }
        } catch {
            try? await connection.close()
            throw error
        }
        try await connection.close()
        return count
    }
}

/// Collects listener events for assertions.
actor EventRecorder {
    private(set) var events: [GovernanceEvent] = []

    func record(_ event: GovernanceEvent) { events.append(event) }

    func count(of event: GovernanceEvent) -> Int { events.filter { $0 == event }.count }

    /// True once `event` has been seen at least `times` times, false after `timeout`.
    func wait(for event: GovernanceEvent, times: Int = 1, timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if count(of: event) >= times { return true }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return count(of: event) >= times
    }
}

/// Small policies for tests.
enum TestPolicies {
    static func allowAll(_ name: String = "allow-all", comment: String = "") -> String {
        """
        # \(comment)
        apiVersion: airlock/v1
        kind: Policy
        name: \(name)
        defaults:
          action: allow
        """
    }

    static let blockSecrets = """
        apiVersion: airlock/v1
        kind: Policy
        name: block-secrets
        rules:
          - id: no-secrets
            when: { entities: [secrets] }
            action: block
        """

    /// `rules[0].action` (line 7) is not an action.
    static let invalid = """
        apiVersion: airlock/v1
        kind: Policy
        name: broken
        rules:
          - id: bad-action
            when: { entities: [EMAIL_ADDRESS] }
            action: encrypt
        """
}
