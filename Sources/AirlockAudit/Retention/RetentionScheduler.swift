import AirlockStore
import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle

/// Runs retention inside `airlock serve` on a fixed interval (first run shortly after start).
/// Rules are re-read each run so a policy apply takes effect without a restart; the runner's
/// advisory lock keeps several instances from running at once. A run that fails (the
/// database is down) is retried after `retryAfterFailure`, doubling up to `interval`, rather
/// than a whole interval later.
public struct RetentionScheduler: Service {
    public let pool: RenewablePool
    public let checkpointKey: AuditKey?
    public let interval: Duration
    public let retryAfterFailure: Duration
    public let firstRunAfter: Duration
    public let rules: @Sendable () async throws -> RetentionRules
    let logger: Logger

    public init(pool: RenewablePool, logger: Logger, checkpointKey: AuditKey?, interval: Duration = .seconds(3600),
                retryAfterFailure: Duration = .seconds(30), firstRunAfter: Duration = .seconds(30),
                rules: @escaping @Sendable () async throws -> RetentionRules) {
        self.pool = pool
        self.checkpointKey = checkpointKey
        self.interval = interval
        self.retryAfterFailure = retryAfterFailure
        self.firstRunAfter = firstRunAfter
        self.rules = rules
        self.logger = logger
    }

    /// The runner over the pool as it is now (it may have been renewed since the last run).
    public var runner: RetentionRunner { RetentionRunner(client: pool.client, logger: logger, checkpointKey: checkpointKey) }

    public func run() async throws {
        try? await cancelWhenGracefulShutdown { try await Task.sleep(for: firstRunAfter) }
        var nextRetry = retryAfterFailure
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            var wait = interval
            do {
                let outcome = try await runner.run(rules: try await rules(), dryRun: false, trigger: "scheduler")
                logger.info("retention run finished", metadata: [
                    "run_id": "\(outcome.runID)", "partitions_dropped": "\(outcome.partitionsDropped.count)",
                    "events_redacted": "\(outcome.eventsRedacted)", "payloads_deleted": "\(outcome.payloadsDeleted)",
                ])
                nextRetry = retryAfterFailure
            } catch {
                wait = min(nextRetry, interval)
                nextRetry = min(nextRetry * 2, interval)
                logger.error("retention run failed", metadata: ["error": .string(WriterLoop.describe(error)), "retry_in": "\(wait)"])
            }
            do { try await cancelWhenGracefulShutdown { [wait] in try await Task.sleep(for: wait) } } catch { return }
        }
    }
}
