import AirlockStore
import Crypto
import Foundation
import Logging
import PostgresNIO
import Testing

/// Operator tokens against a real PostgreSQL (AIRLOCK_TEST_DATABASE_URL): a fresh database per
/// test, migrated with the repository's Migrations folder.
@Suite struct ConsoleOperatorTests {
    static let urlText = ProcessInfo.processInfo.environment["AIRLOCK_TEST_DATABASE_URL"].flatMap { $0.isEmpty ? nil : $0 }

    static func migrations() -> String {
        var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while dir.path != "/" && !FileManager.default.fileExists(atPath: dir.appendingPathComponent("Migrations").path) { dir.deleteLastPathComponent() }
        return dir.appendingPathComponent("Migrations").path
    }

    static func withDatabase(_ body: @Sendable (PostgresClient) async throws -> Void) async throws {
        guard let urlText else { return }
        var logger = Logger(label: "console-tests")
        logger.logLevel = .warning
        let base = try DatabaseURL(parsing: urlText)
        let name = "console_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
        let admin = PostgresClient(configuration: base.clientConfiguration, backgroundLogger: logger)
        var url = base
        url.database = String(name)
        let client = PostgresClient(configuration: url.clientConfiguration, backgroundLogger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await admin.run() }
            defer { group.cancelAll() }
            _ = try await admin.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: logger)
            var failure: (any Error)?
            do {
                try await withThrowingTaskGroup(of: Void.self) { inner in
                    inner.addTask { await client.run() }
                    defer { inner.cancelAll() }
                    try await Task.sleep(for: .milliseconds(20))
                    try await Migrator(client: client, logger: logger).migrate(Migration.load(from: migrations()))
                    try await body(client)
                }
            } catch { failure = error }
            _ = try? await admin.query(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(name) WITH (FORCE)"), logger: logger)
            if let failure { throw failure }
        }
    }

    @Test(.enabled(if: urlText != nil, "AIRLOCK_TEST_DATABASE_URL is not set"))
    func tokensAreStoredHashedAuthenticateAndRevoke() async throws {
        try await Self.withDatabase { client in
            let repo = OperatorRepository(client: client, logger: Logger(label: "t"))
            let issued = try await repo.create(name: "Ana Kim", role: .auditor)
            let token = issued.token
            #expect(token.hasPrefix("aop_") && token.count == 47)
            #expect(issued.operatorAccount.prefix == String(token.prefix(10)))
            // Only the SHA-256 is stored; the token appears nowhere in the row.
            var rows = 0
            for try await (hash, text) in try await client.query(
                "SELECT token_hash, concat_ws('|', id, name, role, prefix, encode(token_hash, 'hex')) FROM console_operators", logger: Logger(label: "t"))
                .decode((ByteBuffer, String).self) {
                rows += 1
                #expect(Array(buffer: hash) == Array(SHA256.hash(data: Data(token.utf8))))
                #expect(!text.contains(token) && !text.contains(String(token.dropFirst(10))))
            }
            #expect(rows == 1)

            let signedIn = try #require(try await repo.authenticate(token: token))
            #expect(signedIn.id == issued.operatorAccount.id && signedIn.role == .auditor && signedIn.lastSignInAt != nil)
            #expect(try await repo.authenticate(token: String(token.dropLast()) + (token.last == "a" ? "b" : "a")) == nil)
            #expect(try await repo.authenticate(token: "ak_live_not_an_operator_token") == nil)
            #expect(try await repo.authenticate(token: "") == nil)

            let admin = try await repo.create(name: "Sec Ops", role: .admin)
            #expect(try await repo.authenticate(token: admin.token)?.role == .admin)
            #expect(admin.token != token)

            let revoked = try await repo.revoke(id: issued.operatorAccount.id)
            #expect(revoked.revokedAt != nil)
            #expect(try await repo.authenticate(token: token) == nil)
            #expect(try await repo.active(id: issued.operatorAccount.id) == nil)
            #expect(try await repo.active(id: admin.operatorAccount.id) != nil)
            let listed = try await repo.list()
            #expect(listed.map(\.name) == ["Ana Kim", "Sec Ops"] && listed[0].revokedAt != nil && listed[1].revokedAt == nil)

            await #expect(throws: GovernanceError.self) { try await repo.create(name: "  ", role: .admin) }
            await #expect(throws: GovernanceError.self) { try await repo.revoke(id: "op_missing") }
        }
    }
}
