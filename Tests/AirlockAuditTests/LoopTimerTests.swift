@testable import AirlockAudit
import Foundation
import NIOCore
import NIOPosix
import Testing

/// The event-loop timers that replaced `Task.sleep` on per-call paths must keep its
/// contract: sleep at least as long as asked, end at once when the task is cancelled
/// (even when cancelled before the timer exists), and `withTimeout` must return the
/// operation's result, its error, or `TimeoutError` — and never wait for an abandoned one.
/// The bounds are far apart (an hour-long sleep must end within a minute) because parallel
/// tests can keep the cooperative pool busy for seconds on a loaded CI machine.
@Suite struct LoopTimerTests {
    /// The tests' own loop (the test runner's tasks run on no loop, and would get `Task.sleep`).
    static let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    static var loop: any EventLoop { group.next() }

    @Test func sleepsAtLeastTheDuration() async throws {
        let start = ContinuousClock.now
        try await LoopTimer.sleep(for: .milliseconds(30), on: Self.loop)
        #expect(ContinuousClock.now - start >= .milliseconds(30))
    }

    /// Off any loop the sleep is `Task.sleep`'s, with the same contract.
    @Test func offALoopASleepStillSleepsAndEndsOnCancellation() async throws {
        #expect(MultiThreadedEventLoopGroup.currentEventLoop == nil)
        let start = ContinuousClock.now
        try await LoopTimer.sleep(for: .milliseconds(30))
        #expect(ContinuousClock.now - start >= .milliseconds(30))
        let sleeper = Task { try await LoopTimer.sleep(for: .seconds(3600)) }
        try? await Task.sleep(for: .milliseconds(20))
        sleeper.cancel()
        let result = await sleeper.result
        #expect(throws: CancellationError.self) { try result.get() }
        #expect(ContinuousClock.now - start < .seconds(60))
    }

    @Test func aTimerThatFiresBeforeTheSleeperWaitsStillEndsTheSleepNormally() async throws {
        // A zero-length timer on another loop can fire before the continuation is installed.
        for _ in 0..<2_000 { try await LoopTimer.sleep(for: .zero, on: Self.loop) }
        for _ in 0..<200 { try await LoopTimer.sleep(for: .microseconds(1), on: Self.loop) }
    }

    @Test func cancellationEndsASleepAtOnce() async {
        let start = ContinuousClock.now
        let sleeper = Task { try await LoopTimer.sleep(for: .seconds(3600), on: Self.loop) }
        try? await Task.sleep(for: .milliseconds(20))
        sleeper.cancel()
        let result = await sleeper.result
        #expect(throws: CancellationError.self) { try result.get() }
        #expect(ContinuousClock.now - start < .seconds(60))
    }

    @Test func aTaskCancelledBeforeSleepingDoesNotSleep() async {
        let start = ContinuousClock.now
        let sleeper = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            try await LoopTimer.sleep(for: .seconds(3600), on: Self.loop)
        }
        let result = await sleeper.result
        #expect(throws: CancellationError.self) { try result.get() }
        #expect(ContinuousClock.now - start < .seconds(60))
    }

    /// Without a loop named, a timer goes on the loop the caller runs on (the audit writer's
    /// own thread), not on a shared loop that would then have to wake the writer's thread.
    @Test func aTimerWithoutALoopFiresOnTheCallersLoop() async throws {
        let thread = try await BackgroundThread.start(idle: false)
        let firedOnCallersLoop = try await withTaskExecutorPreference(thread.executor) { () async throws -> Bool in
            #expect(thread.loop.inEventLoop)
            return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Bool, any Error>) in
                LoopTimer.schedule(after: .milliseconds(1)) { continuation.resume(returning: thread.loop.inEventLoop) }
            }
        }
        #expect(firedOnCallersLoop)
        // Off any loop, a shared loop takes it.
        let firedOffLoop = await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            LoopTimer.schedule(after: .milliseconds(1)) { continuation.resume(returning: thread.loop.inEventLoop) }
        }
        #expect(!firedOffLoop)
        await thread.shutdown()
    }

    @Test func aSleepOnALoopThatShutsDownEnds() async throws {
        let thread = try await BackgroundThread.start(idle: false)
        let start = ContinuousClock.now
        let sleeper = Task { try await LoopTimer.sleep(for: .seconds(3600), on: thread.loop) }
        try await Task.sleep(for: .milliseconds(20))
        await thread.shutdown()
        let result = await sleeper.result
        #expect(throws: (any Error).self) { try result.get() }
        #expect(ContinuousClock.now - start < .seconds(60))
    }

    @Test func withTimeoutReturnsTheResultOrTheError() async throws {
        let value = try await withTimeout(.seconds(600)) { 42 }
        #expect(value == 42)
        struct Boom: Error {}
        await #expect(throws: Boom.self) { try await withTimeout(.seconds(600)) { () async throws -> Int in throw Boom() } }
    }

    @Test func withTimeoutAbandonsASlowOperation() async {
        let start = ContinuousClock.now
        await #expect(throws: TimeoutError.self) {
            try await withTimeout(.milliseconds(50)) { () async throws -> Int in
                // Deaf to cancellation on purpose (a detached task): the caller must not wait for it.
                try await Task.detached { try await Task.sleep(for: .seconds(3600)) }.value
                return 1
            }
        }
        #expect(ContinuousClock.now - start < .seconds(60))
    }

    @Test func withTimeoutGivesUpEarlyWhenItsCheckSaysSo() async {
        let start = ContinuousClock.now
        await #expect(throws: GivenUpError.self) {
            try await withTimeout(.seconds(3600), unless: (.milliseconds(20), { true })) { () async throws -> Int in
                try await Task.detached { try await Task.sleep(for: .seconds(3600)) }.value
                return 1
            }
        }
        #expect(ContinuousClock.now - start < .seconds(60))
    }

    @Test func withTimeoutKeepsWaitingWhenItsCheckFindsNothingWrong() async throws {
        let checks = LockedBox(0)
        let value = try await withTimeout(.seconds(600), unless: (.milliseconds(10), { checks.withLock { $0 += 1 }; return false })) {
            // Still running when the check comes (however late a busy machine runs it).
            while checks.withLock({ $0 }) == 0 { try await Task.sleep(for: .milliseconds(5)) }
            try await Task.sleep(for: .milliseconds(20))
            return 7
        }
        #expect(value == 7)
        #expect(checks.withLock { $0 } == 1)
        // A quick operation finishes before its check is due, so the check never runs.
        let quick = try await withTimeout(.seconds(600), unless: (.seconds(5), { checks.withLock { $0 += 1 }; return true })) { 8 }
        #expect(quick == 8)
        try await Task.sleep(for: .milliseconds(50))
        #expect(checks.withLock { $0 } == 1)
    }
}
