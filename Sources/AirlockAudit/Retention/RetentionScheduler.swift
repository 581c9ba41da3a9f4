import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle

/// Runs retention inside `airlock serve` on a fixed interval (first run shortly after start).
/// Rules are re-read each run so a policy apply takes effect without a restart; the runner's
/// advisory lock keeps several instances from running at once.
public struct RetentionScheduler: Service {
    public let runner: RetentionRunner
    public let interval: Duration
    public let rules: @Sendable () async throws -> RetentionRules
    let logger: Logger

    public init(client: PostgresClient, logger: Logger, checkpointKey: AuditKey?, interval: Duration = .seconds(3600),
                rules: @escaping @Sendable () async throws -> RetentionRules) {
        self.runner = RetentionRunner(client: client, logger: logger, checkpointKey: checkpointKey)
        self.interval = interval
        self.rules = rules
        self.logger = logger
    }

    public func run() async throws {
        try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(30)) }
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                let outcome = try await runner.run(rules: try await rules(), dryRun: false, trigger: "scheduler")
                logger.info("retention run finished", metadata: [
                    "run_id": "\(outcome.runID)", "partitions_dropped": "\(outcome.partitionsDropped.count)",
                    "events_redacted": "\(outcome.eventsRedacted)", "payloads_deleted": "\(outcome.payloadsDeleted)",
                ])
            } catch {
                logger.error("retention run failed", metadata: ["error": .string(WriterLoop.describe(error))])
            }
            do { try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) } } catch { return }
        }
    }
}
