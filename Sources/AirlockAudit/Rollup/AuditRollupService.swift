import AirlockStore
import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle

/// Runs `AuditRollupRefresher` inside `airlock serve`: shortly after start (catching up on
/// every day not rolled up yet), then every `interval`. Readers never wait for it: what is not
/// rolled up (yet) is read live.
public struct AuditRollupService: Service {
    public let pool: RenewablePool
    public let interval: Duration
    let logger: Logger

    public init(pool: RenewablePool, logger: Logger, interval: Duration = .seconds(60)) {
        self.pool = pool
        self.interval = interval
        self.logger = logger
    }

    /// The refresher over the pool as it is now (it may have been renewed since the last run).
    public var refresher: AuditRollupRefresher { AuditRollupRefresher(client: pool.client, logger: logger) }

    public func run() async throws {
        do { try await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(3)) } } catch { return }
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let started = ContinuousClock.now
            do {
                let outcome = try await refreshAbandoningOnShutdown()
                if outcome.rebuilt + outcome.extended > 0 {
                    logger.info("audit rollups refreshed", metadata: [
                        "days_rebuilt": "\(outcome.rebuilt)", "days_extended": "\(outcome.extended)", "elapsed": "\(ContinuousClock.now - started)",
                    ])
                }
            } catch {
                logger.warning("audit rollup refresh failed", metadata: ["error": .string(WriterLoop.describe(error))])
            }
            do { try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) } } catch { return }
        }
    }

    /// One refresh, abandoned (cancelled, not awaited) on graceful shutdown, cancellation or
    /// after `limit`: a query stuck on a dead connection must not hold up the gateway's exit.
    /// An abandoned refresh is harmless: each day commits on its own and is checked again.
    func refreshAbandoningOnShutdown(limit: Duration = .seconds(600)) async throws -> AuditRollupRefresher.Outcome {
        let race = FirstResult<AuditRollupRefresher.Outcome>()
        let refresher = refresher
        let work = Task {
            do { race.finish(.success(try await refresher.refresh())) } catch { race.finish(.failure(error)) }
        }
        let timer = Task {
            try? await Task.sleep(for: limit)
            if race.finish(.failure(TimeoutError())) { work.cancel() }
        }
        defer { timer.cancel() }
        let abandon = { @Sendable in if race.finish(.failure(CancellationError())) { work.cancel() } }
        return try await withTaskCancellationHandler {
            try await withGracefulShutdownHandler {
                try await withCheckedThrowingContinuation { race.install($0) }
            } onGracefulShutdown: { abandon() }
        } onCancel: { abandon() }
    }
}
