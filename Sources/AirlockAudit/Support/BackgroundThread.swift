#if canImport(Glibc)
import Glibc
#endif
import Foundation
import NIOCore
import NIOPosix

/// One event-loop thread for work that must not delay requests: the audit writer's sealing,
/// COPY encoding and PostgreSQL round trips. Its tasks run on it through a task executor
/// preference, its database connections are on its loop, and on Linux it runs with the
/// `SCHED_IDLE` policy, so the kernel switches to a request thread as soon as one wakes
/// instead of letting an audit batch finish first.
///
/// An idle-policy thread gets almost no CPU while the request threads keep every CPU busy,
/// so it is `boost`ed back to the normal policy while work waits on it (a fail-closed caller,
/// or a queue past its bound) and `relax`ed again after each batch.
public final class BackgroundThread: Sendable {
    public let group: MultiThreadedEventLoopGroup
    public let loop: any EventLoop
    public let executor: LoopTaskExecutor
    let thread: pthread_t
    /// Whether `relax` may put the thread at the idle policy.
    public let idleWhenQuiet: Bool
    private let state = LockedBox(Policy.normal)

    /// `refused`: the kernel would not switch it; it stays at the normal policy.
    enum Policy: Equatable { case normal, idle, refused }

    /// Starts the thread; with `idle` it runs at the idle policy until boosted.
    public static func start(idle: Bool) async throws -> BackgroundThread {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        let id = try await loop.submit { pthread_self() }.get()
        let thread = BackgroundThread(group: group, loop: loop, thread: id, idleWhenQuiet: idle)
        if idle { thread.relax() }
        return thread
    }

    private init(group: MultiThreadedEventLoopGroup, loop: any EventLoop, thread: pthread_t, idleWhenQuiet: Bool) {
        self.idleWhenQuiet = idleWhenQuiet
        self.group = group
        self.loop = loop
        self.executor = LoopTaskExecutor(loop: loop)
        self.thread = thread
    }

    /// Whether the thread currently runs at the idle policy.
    public var isIdlePolicy: Bool { state.withLock { $0 == .idle } }

    /// Back to the normal policy (from any thread); a no-op when already there.
    public func boost() { set(.normal) }

    /// To the idle policy; a no-op when already there or not `idleWhenQuiet`.
    public func relax() { if idleWhenQuiet { set(.idle) } }

    private func set(_ policy: Policy) {
        #if os(Linux)
        // The switch is made under the lock: a boost and a relax racing from two threads must
        // leave the kernel's policy and `state` agreeing.
        state.withLock { s in
            guard s != policy, s != .refused else { return }
            var param = sched_param()
            // SCHED_IDLE is 5 in the kernel ABI; the C header defines it only under _GNU_SOURCE.
            // Refused (a seccomp profile, say): stay at the normal policy and stop asking.
            s = pthread_setschedparam(thread, policy == .idle ? 5 : Int32(SCHED_OTHER), &param) == 0 ? policy : .refused
        }
        #endif
    }

    /// Whether this process may move a thread back from `SCHED_IDLE` to the normal policy.
    /// The kernel allows that only with `CAP_SYS_NICE` or an `RLIMIT_NICE` that permits nice 0
    /// (20 or more: systemd `LimitNICE=+0`, docker `--ulimit nice=20`); without it an idle
    /// writer could never be boosted and would starve under load.
    public static func mayLeaveIdlePolicy() -> Bool {
        #if os(Linux)
        var limit = rlimit()  // RLIMIT_NICE is 13 in the kernel ABI; glibc hides the name from Swift
        let niceLimit: UInt64 = getrlimit(__rlimit_resource_t(13), &limit) == 0 ? UInt64(limit.rlim_cur) : 0
        let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)
        return mayLeaveIdlePolicy(status: status, niceLimit: niceLimit)
        #else
        return false
        #endif
    }

    /// `status`: the text of /proc/self/status (its `CapEff:` line); `niceLimit`: RLIMIT_NICE.
    static func mayLeaveIdlePolicy(status: String?, niceLimit: UInt64) -> Bool {
        if niceLimit >= 20 { return true }
        let capSysNice: UInt64 = 1 << 23
        guard let line = status?.split(separator: "\n").first(where: { $0.hasPrefix("CapEff:") }),
              let mask = UInt64(line.dropFirst("CapEff:".count).trimmingCharacters(in: .whitespaces), radix: 16) else { return false }
        return mask & capSysNice != 0
    }

    public func shutdown() async {
        try? await group.shutdownGracefully()
    }
}

/// Runs a task's jobs on one event loop (for `withTaskExecutorPreference`): NIO's loops are
/// serial executors for actors, not task executors.
public final class LoopTaskExecutor: TaskExecutor {
    let loop: any EventLoop

    init(loop: any EventLoop) { self.loop = loop }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        loop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
