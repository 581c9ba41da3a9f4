import Foundation
import NIOCore
import NIOPosix
import Synchronization

/// Puts Swift concurrency's global executor on NIO's singleton event loops, so a request's
/// handler, its provider call and its response stay on the loop thread that does their I/O.
///
/// NIO offers the same takeover (`NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroup
/// AsConcurrencyGlobalExecutor`), but it runs each job with the event loop as the job's
/// *serial* executor. The runtime then believes every task is isolated to that loop, and each
/// `await` into a nonisolated async function (which runs on the generic executor) is a switch
/// of executor: the task is re-enqueued on the loop and run again from its task queue. A
/// personal-data chat call made 63 such switches and 45 re-enqueues (uprobes on
/// `swift_task_switch` and `swift_task_enqueueGlobal`, twenty-fifth session). Here jobs run
/// as the generic executor, as Dispatch's global pool runs them, and the runtime continues
/// those awaits inline.
///
/// Like NIO's version this relies on the runtime's `swift_task_enqueueGlobal_hook`, which is
/// not a stable API: `install` returns false (and changes nothing) where it is missing.
public enum ConcurrencyOnEventLoops {
    /// The hook's type: the job, and the runtime's own enqueue (unused here).
    private typealias EnqueueGlobalHook = @convention(thin) (UnownedJob, @convention(thin) (UnownedJob) -> Void) -> Void

    private static let installed = Atomic<Bool>(false)
    private static let jobCounter = Atomic<Int>(0)

    /// Jobs the global executor has been given since `install` (task starts, resumptions and
    /// executor switches); for `/metrics` and the tests that keep the switches away.
    public static var jobsEnqueued: Int { jobCounter.load(ordering: .relaxed) }

    /// Installs the hook; call once, from `main`, before any task runs. Returns whether it
    /// is in place.
    @discardableResult
    public static func install() -> Bool {
        guard installed.compareExchange(expected: false, desired: true, ordering: .relaxed).exchanged else { return false }
        guard let slot = dlsym(dlopen(nil, RTLD_NOW), "swift_task_enqueueGlobal_hook") else { return false }
        let hookSlot = slot.assumingMemoryBound(to: UnsafeRawPointer?.self)
        guard hookSlot.pointee == nil else { return false }  // someone else's executor is in place
        let hook: EnqueueGlobalHook = { job, _ in ConcurrencyOnEventLoops.enqueue(job) }
        // A thin function value is its entry address; the runtime calls it as one.
        hookSlot.pointee = unsafeBitCast(hook, to: UnsafeRawPointer.self)
        return true
    }

    /// The generic executor's reference (both words zero, as the runtime spells it). Running a
    /// job "on" it tells the runtime the job is not isolated to anything, so later switches to
    /// the generic executor need no hop.
    private static let generic: UnownedSerialExecutor = unsafeBitCast((0 as Int, 0 as Int), to: UnownedSerialExecutor.self)

    private static func enqueue(_ job: UnownedJob) {
        jobCounter.add(1, ordering: .relaxed)
        // `any()` stays on the caller's loop when the caller is one of the group's threads,
        // so a task resumed from its own I/O keeps its thread.
        MultiThreadedEventLoopGroup.singleton.any().execute { job.runSynchronously(on: generic) }
    }
}
