import AirlockStore
import Foundation
import NIOCore
import NIOPosix
import PostgresNIO
import Testing

/// `refusesConnections` decides whether the audit writer stops waiting for the database and
/// spools at once, so it must say "gone" only for a server that is not there.
struct DatabaseReachabilityTests {
    @Test(.enabled(if: TestDatabase.isConfigured, TestDatabase.skipReason))
    func aRunningServerIsThere() async throws {
        let url = try DatabaseURL(parsing: TestDatabase.urlText!)
        #expect(await !url.refusesConnections(within: .seconds(5), logger: TestDatabase.logger))
    }

    @Test(.enabled(if: TestDatabase.isConfigured, TestDatabase.skipReason))
    func aServerThatAnswersWithAnErrorIsThere() async throws {
        var url = try DatabaseURL(parsing: TestDatabase.urlText!)
        url.database = "no_such_database_\(UInt32.random(in: 0...UInt32.max))"
        #expect(await !url.refusesConnections(within: .seconds(5), logger: TestDatabase.logger))
    }

    @Test func aSocketFolderWithoutAServerIsGone() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("airlock-no-pg-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let url = try DatabaseURL(parsing: "postgres://airlock@/airlock?host=\(folder)&port=5432")
        // Refused at once, not judged by the deadline (generous: the suite runs beside others).
        let start = ContinuousClock.now
        #expect(await url.refusesConnections(within: .seconds(60), logger: TestDatabase.logger))
        #expect(ContinuousClock.now - start < .seconds(30))
    }

    /// A port that was just listening and is closed again: nothing answers there.
    static func closedPortURL() async throws -> DatabaseURL {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).get()
        let port = channel.localAddress!.port!
        try await channel.close()
        return try DatabaseURL(parsing: "postgres://airlock@127.0.0.1:\(port)/airlock")
    }

    @Test func aClosedTCPPortIsGone() async throws {
        let url = try await Self.closedPortURL()
        #expect(await url.refusesConnections(within: .seconds(5), logger: TestDatabase.logger))
    }

    /// After a long outage the pool reconnects on its own backoff schedule; governance reloads
    /// meanwhile read over a fresh connection. Here the pool can never connect (a closed port),
    /// and the snapshot still loads, with what the database holds.
    @Test(.enabled(if: TestDatabase.isConfigured, TestDatabase.skipReason))
    func aSnapshotLoadsOverAFreshConnectionWhileThePoolCannotConnect() async throws {
        try await TestDatabase.withFreshDatabase { store, url in
            try await store.tenants.create(id: "acme", name: "Acme")
            let deadPool = PostgresClient(configuration: try await Self.closedPortURL().clientConfiguration, backgroundLogger: TestDatabase.logger)
            let stranded = GovernanceStore(client: deadPool, logger: TestDatabase.logger)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await deadPool.run() }
                defer { group.cancelAll() }
                let snapshot = try await stranded.loadSnapshot(overFreshConnectionTo: url)
                #expect(snapshot.tenants["acme"]?.name == "Acme")
            }
        }
    }
}
