import AirlockAudit
import Logging
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// Ready means: migrations applied and the database answered within the last probe.
/// Probed once a second off the request path, so `/readyz` costs nothing.
public final class Readiness: Service, Sendable {
    let client: PostgresClient?
    let logger: Logger
    private let databaseUp = Atomic<Bool>(false)
    private let migrated = Atomic<Bool>(false)

    public init(client: PostgresClient?, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    public var isReady: Bool { databaseUp.load(ordering: .relaxed) && migrated.load(ordering: .relaxed) }
    public var isDatabaseUp: Bool { databaseUp.load(ordering: .relaxed) }

    public func markMigrated() { migrated.store(true, ordering: .relaxed) }
    public func markDatabase(up: Bool) { databaseUp.store(up, ordering: .relaxed) }

    public func run() async throws {
        guard let client else { return }
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let up: Bool
            do {
                // Abandoned, not awaited, after 2 s: a task group would wait for a query stuck
                // on a dead connection, and with it the whole shutdown.
                up = try await withTimeout(.seconds(2)) { [client, logger] in
                    for try await _ in try await client.query("SELECT 1", logger: logger) {}
                    return true
                }
            } catch {
                up = false
            }
            if up != isDatabaseUp { logger.notice(up ? "database reachable" : "database unreachable") }
            markDatabase(up: up)
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(1)) }
        }
    }
}
