import Foundation
import Testing
@testable import AirlockAudit

/// When the writer writes: a batch goes once its oldest event has waited the linger or it is
/// full — timed from the oldest event, so events that arrive during a write still share the
/// next transaction instead of each getting their own.
@Suite struct BatchLingerTests {
    let linger = Duration.milliseconds(5)
    let t0 = ContinuousClock.now

    func wait(oldestAge: Duration?, queued: Int, maxBatch: Int = 100) -> Duration? {
        AuditWriter.linger(oldest: oldestAge.map { t0 - $0 }, queued: queued, now: t0, linger: linger, maxBatch: maxBatch)
    }

    @Test func freshEventWaitsTheWholeLinger() {
        #expect(wait(oldestAge: .zero, queued: 1) == linger)
    }

    @Test func eventQueuedDuringAWriteWaitsOnlyWhatIsLeft() {
        // It arrived 2 ms ago, while the previous batch was being written.
        #expect(wait(oldestAge: .milliseconds(2), queued: 1) == .milliseconds(3))
    }

    @Test func eventThatWaitedLongEnoughGoesNow() {
        #expect(wait(oldestAge: .milliseconds(5), queued: 3) == nil)
        #expect(wait(oldestAge: .milliseconds(40), queued: 1) == nil)
    }

    @Test func fullBatchGoesNow() {
        #expect(wait(oldestAge: .zero, queued: 100, maxBatch: 100) == nil)
        #expect(wait(oldestAge: .zero, queued: 99, maxBatch: 100) == linger)
    }

    @Test func emptyQueueHasNothingToWaitFor() {
        #expect(wait(oldestAge: nil, queued: 0) == nil)
    }
}
