import AirlockStore
import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle
@testable import AirlockAudit

/// Integration tests need a real PostgreSQL: `AIRLOCK_TEST_DATABASE_URL` (set by the test
/// script). Each use gets a fresh database on that server, so suites never see each other.
enum TestDatabase {
    static let urlText = ProcessInfo.processInfo.environment["AIRLOCK_TEST_DATABASE_URL"]
    static var available: Bool { urlText != nil }
    static let logger: Logger = {
        var l = Logger(label: "audit-test")
        l.logLevel = .warning
        return l
    }()

    static var repositoryRoot: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    }

    static func makeClient(_ url: DatabaseURL) -> PostgresClient {
        var config = url.clientConfiguration
        config.options.maximumConnections = 8
        config.options.connectTimeout = .seconds(2)
        var quiet = logger
        quiet.logLevel = .error  // the pool warns when a lease races `run()` starting
        return PostgresClient(configuration: config, backgroundLogger: quiet)
    }

    /// Creates a migrated scratch database, runs `body` with a running client, drops it.
    static func withFreshDatabase<T: Sendable>(_ body: @Sendable (PostgresClient, DatabaseURL) async throws -> T) async throws -> T {
        let base = try DatabaseURL(parsing: urlText!)
        let name = "audit_t_" + UUID().uuidString.prefix(8).lowercased()
        try await withClient(base) { admin in
            _ = try await admin.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: logger)
        }
        var scratch = base
        scratch.database = name
        let url = scratch
        do {
            let result = try await withClient(url) { client in
                try await Migrator(client: client, logger: logger).migrate(Migration.load(from: repositoryRoot + "/Migrations"))
                return try await body(client, url)
            }
            try? await dropDatabase(base, name)
            return result
        } catch {
            try? await dropDatabase(base, name)
            throw error
        }
    }

    static func dropDatabase(_ base: DatabaseURL, _ name: String) async throws {
        try await withClient(base) { admin in
            _ = try await admin.query(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(name) WITH (FORCE)"), logger: logger)
        }
    }

    static func withClient<T: Sendable>(_ url: DatabaseURL, _ body: @Sendable (PostgresClient) async throws -> T) async throws -> T {
        let client = makeClient(url)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            return try await body(client)
        }
    }

    static func scalar(_ client: PostgresClient, _ sql: String) async throws -> Int64 {
        for try await v in try await client.query(PostgresQuery(unsafeSQL: sql), logger: logger).decode(Int64.self) { return v }
        return -1
    }

    static func exec(_ client: PostgresClient, _ sql: String) async throws {
        _ = try await client.query(PostgresQuery(unsafeSQL: sql), logger: logger)
    }
}

/// Runs a writer in a ServiceGroup for the duration of `body`, then shuts it down gracefully
/// (which drains its queue).
func withWriter<T: Sendable>(_ writer: AuditWriter, _ body: @Sendable (AuditWriter) async throws -> T) async throws -> T {
    let group = ServiceGroup(configuration: .init(services: [writer], gracefulShutdownSignals: [], logger: TestDatabase.logger))
    return try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask { try await group.run() }
        do {
            let result = try await body(writer)
            await group.triggerGracefulShutdown()
            try await tasks.next()
            return result
        } catch {
            await group.triggerGracefulShutdown()
            try? await tasks.next()
            throw error
        }
    }
}

func sampleEvent(tenant: String = "acme", i: Int = 0, at date: Date = Date()) -> AuditEvent {
    AuditEvent(tenantID: tenant, keyID: "key_1", requestID: "req-\(i)", requestedModel: i % 2 == 0 ? "gpt-4o" : "deepseek-chat",
               provider: i % 3 == 0 ? "local" : "openai", region: i % 3 == 0 ? "local" : "us", routeReason: "policy",
               decision: i % 5 == 0 ? .blocked : (i % 2 == 0 ? .transformed : .allowed), firedRuleIDs: ["r\(i % 3)"],
               policyVersion: 3, entityCounts: i % 2 == 0 ? [.emailAddress: 1 + i % 3, .krRRN: 1] : [:],
               fingerprints: i % 2 == 0 ? ["fp\(i)"] : [], usage: .init(promptTokens: 10 + i, completionTokens: 5),
               costUSD: i % 3 == 0 ? 0 : 0.0001 * Double(i % 7), avoidedCostUSD: i % 3 == 0 ? 0.002 : nil,
               receivedAt: date, completedAt: date.addingTimeInterval(0.2), status: i % 5 == 0 ? 403 : 200,
               clientAddress: "10.0.0.\(i % 250)")
}
