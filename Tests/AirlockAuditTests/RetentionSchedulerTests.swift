import AirlockStore
import Foundation
import Synchronization
import Testing
@testable import AirlockAudit

/// The scheduler inside `airlock serve`: a run that fails (the database is away, or the rules
/// cannot be read) is tried again soon, backing off, instead of a whole interval later.
struct RetentionSchedulerTests {
    struct RulesUnavailable: Error {}

    @Test func aFailedRunIsRetriedBeforeTheIntervalWithAGrowingDelay() async throws {
        let attempts = Mutex<[ContinuousClock.Instant]>([])
        let scheduler = RetentionScheduler(pool: RenewablePool(client: try await PoolBypassTests.deadPool(), logger: TestDatabase.logger),
                                           logger: TestDatabase.logger, checkpointKey: nil, interval: .seconds(3600),
                                           retryAfterFailure: .milliseconds(100), firstRunAfter: .zero) {
            attempts.withLock { $0.append(.now) }
            throw RulesUnavailable()
        }
        let run = Task { try await scheduler.run() }
        defer { run.cancel() }
        let deadline = ContinuousClock.now + .seconds(30)
        while attempts.withLock({ $0.count }) < 4, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        let times = attempts.withLock { $0 }
        // An hourly schedule retried four times within seconds, each wait at least the last one's double.
        #expect(times.count >= 4)
        if times.count >= 4 {
            #expect(times[1] - times[0] >= .milliseconds(100))
            #expect(times[2] - times[1] >= .milliseconds(200))
            #expect(times[3] - times[2] >= .milliseconds(400))
        }
    }
}
