import NIOCore
import NIOPosix

/// Sleeps and deadlines on NIO's event-loop timers instead of `Task.sleep`.
///
/// `airlock serve` runs Swift concurrency on NIO's event loops, but a `Task.sleep` still
/// goes through Dispatch: each one registers a Dispatch timer (a syscall that wakes a
/// Dispatch thread), and a sleep that is cancelled early leaves its timer to fire later
/// anyway. On paths taken once per call (the request body deadline, the audit writer's
/// batch linger and write deadline) that was one or two extra thread wake-ups per request.
/// An event-loop timer is an insert into the timer heap of the loop that is already running.
public enum LoopTimer {
    /// Like `Task.sleep(for:)`: returns after `duration`, throws `CancellationError` as soon
    /// as the calling task is cancelled. Without `loop`, the timer is set on the loop the
    /// caller runs on (so it fires on the thread the task resumes on: the audit writer's own
    /// loop, say). A caller on no loop at all (Swift concurrency on its default executor:
    /// tests, tools) gets `Task.sleep`: a timer on some other loop would wake it from another
    /// thread anyway, and could wait behind that loop's I/O (a paced COPY of 50 rows sat out
    /// the writer's 3 s deadline that way on a loaded CI machine).
    public static func sleep(for duration: Duration, on loop: (any EventLoop)? = nil) async throws {
        guard let loop = loop ?? MultiThreadedEventLoopGroup.currentEventLoop else {
            try await Task.sleep(for: duration)
            return
        }
        let sleeper = Sleeper()
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let scheduled = loop.scheduleTask(in: TimeAmount(duration)) { sleeper.finish(nil) }
                // A loop that shuts down fails its pending timers instead of firing them: the
                // sleep then ends with that error rather than never.
                scheduled.futureResult.whenFailure { sleeper.finish($0) }
                sleeper.install(continuation, scheduled: scheduled)
            }
        } onCancel: {
            sleeper.finish(CancellationError())
        }
    }

    /// Calls `action` on `loop` after `duration` unless the returned handle is cancelled first.
    @discardableResult
    public static func schedule(after duration: Duration, on loop: (any EventLoop)? = nil,
                                _ action: @escaping @Sendable () -> Void) -> Scheduled<Void> {
        (loop ?? defaultLoop).scheduleTask(in: TimeAmount(duration), action)
    }

    private static var defaultLoop: any EventLoop {
        MultiThreadedEventLoopGroup.currentEventLoop ?? MultiThreadedEventLoopGroup.singleton.any()
    }
}

/// One sleep's state: the timer firing and the task's cancellation race, and whichever
/// comes first resumes the continuation exactly once (either may even arrive before the
/// continuation is installed: cancellation at any time, a short timer on another loop).
private final class Sleeper: Sendable {
    private enum State {
        case idle
        case waiting(CheckedContinuation<Void, any Error>, Scheduled<Void>)
        /// Finished before `install`: nil when the timer fired, else the cancellation.
        case finishedEarly((any Error)?)
        case done
    }
    private let state = LockedBox<State>(.idle)

    func install(_ continuation: CheckedContinuation<Void, any Error>, scheduled: Scheduled<Void>) {
        let early = state.withLock { s -> (any Error)?? in
            switch s {
            case .idle:
                s = .waiting(continuation, scheduled)
                return .none
            case .finishedEarly(let error):
                s = .done
                return .some(error)
            case .waiting, .done:
                return .none
            }
        }
        if let early {
            scheduled.cancel()
            if let error = early { continuation.resume(throwing: error) } else { continuation.resume() }
        }
    }

    /// `nil`: the timer fired; an error: the task was cancelled.
    func finish(_ error: (any Error)?) {
        let waiting = state.withLock { s -> (CheckedContinuation<Void, any Error>, Scheduled<Void>)? in
            switch s {
            case .idle:
                s = .finishedEarly(error)
                return nil
            case .waiting(let c, let scheduled):
                s = .done
                return (c, scheduled)
            case .finishedEarly, .done:
                return nil
            }
        }
        guard let (continuation, scheduled) = waiting else { return }
        if let error {
            scheduled.cancel()
            continuation.resume(throwing: error)
        } else {
            continuation.resume()
        }
    }
}
