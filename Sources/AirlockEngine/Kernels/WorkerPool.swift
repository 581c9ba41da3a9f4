import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A fixed pool of OS threads that run one data-parallel job at a time. The caller is
/// worker 0 and helpers 1..<threadCount. Helpers spin briefly between jobs (a decode step
/// issues hundreds of small jobs back to back), then sleep on a condition variable so an
/// idle engine costs no CPU. Jobs are split into chunks claimed from an atomic counter, so a
/// helper descheduled by a noisy neighbour does not hold up the whole step.
public final class WorkerPool: @unchecked Sendable {
    // All mutable state lives in `Shared`, which the helper threads retain; the pool's deinit
    // stops and joins them.
    public let threadCount: Int
    private let shared: Shared
    private var threads: [pthread_t] = []
    private let submitLock = Mutex<Void>(())

    final class Shared: @unchecked Sendable {
        // `job` is written by the submitter before publishing a new generation (release) and
        // read by helpers after observing it (acquire).
        let generation = Atomic<Int>(0)
        let finished = Atomic<Int>(0)
        let nextChunk = Atomic<Int>(0)
        let shuttingDown = Atomic<Bool>(false)
        var job: ((Int) -> Void)?
        let lock: UnsafeMutablePointer<pthread_mutex_t> = .allocate(capacity: 1)
        let wake: UnsafeMutablePointer<pthread_cond_t> = .allocate(capacity: 1)

        init() {
            pthread_mutex_init(lock, nil)
            pthread_cond_init(wake, nil)
        }

        deinit {
            pthread_cond_destroy(wake)
            pthread_mutex_destroy(lock)
            lock.deallocate()
            wake.deallocate()
        }

        func publish() {
            pthread_mutex_lock(lock)
            generation.wrappingAdd(1, ordering: .releasing)
            pthread_cond_broadcast(wake)
            pthread_mutex_unlock(lock)
        }

        func helperLoop(index: Int) {
            var seen = 0
            while true {
                var spins = 0
                var current = generation.load(ordering: .acquiring)
                while current == seen {
                    spins += 1
                    if spins < 20_000 {
                        // On a shared machine a spinning helper may sit on the core the
                        // submitter needs: give it up now and then.
                        if spins > 2_000 && spins & 255 == 0 { sched_yield() } else { WorkerPool.cpuRelax() }
                        current = generation.load(ordering: .acquiring)
                    } else {
                        pthread_mutex_lock(lock)
                        current = generation.load(ordering: .acquiring)
                        while current == seen {
                            pthread_cond_wait(wake, lock)
                            current = generation.load(ordering: .acquiring)
                        }
                        pthread_mutex_unlock(lock)
                    }
                }
                seen = current
                if shuttingDown.load(ordering: .acquiring) { return }
                job?(index)
                finished.wrappingAdd(1, ordering: .releasing)
            }
        }
    }

    public init(threadCount: Int) {
        self.threadCount = max(1, min(threadCount, 256))
        shared = Shared()
        for index in 1..<self.threadCount {
            let box = Unmanaged.passRetained(HelperContext(shared: shared, index: index))
            var tid = pthread_t()
            let rc = pthread_create(&tid, nil, { raw in
                let ctx = Unmanaged<HelperContext>.fromOpaque(raw!).takeRetainedValue()
                ctx.shared.helperLoop(index: ctx.index)
                return nil
            }, box.toOpaque())
            if rc == 0 { threads.append(tid) } else { box.release() }
        }
    }

    deinit {
        shared.shuttingDown.store(true, ordering: .releasing)
        shared.publish()
        for t in threads { pthread_join(t, nil) }
    }

    private final class HelperContext {
        let shared: Shared
        let index: Int
        init(shared: Shared, index: Int) { self.shared = shared; self.index = index }
    }

    @inline(never)
    static func cpuRelax() {
        // An opaque call keeps the spin loop from being optimised into a tight busy loop.
    }

    /// Runs `body(worker)` once on every worker (caller included) and returns when all are done.
    public func runOnAll(_ body: (Int) -> Void) {
        if threads.isEmpty { body(0); return }
        submitLock.withLock { _ in
            withoutActuallyEscaping(body) { escaping in
                shared.job = escaping
                shared.finished.store(0, ordering: .relaxed)
                shared.publish()
                escaping(0)
                var spins = 0
                while shared.finished.load(ordering: .acquiring) < threads.count {
                    spins += 1
                    if spins < 2_000 || spins & 63 != 0 { Self.cpuRelax() } else { sched_yield() }
                }
                shared.job = nil
            }
        }
    }

    /// Splits `0..<count` into chunks of `chunk` and runs `body` on each, in parallel.
    /// `body` gets the chunk and the index of the worker running it (for per-worker scratch).
    public func parallelFor(count: Int, chunk: Int, _ body: (Range<Int>, Int) -> Void) {
        guard count > 0 else { return }
        let chunk = max(1, chunk)
        if threads.isEmpty || count <= chunk {
            body(0..<count, 0)
            return
        }
        let shared = self.shared
        shared.nextChunk.store(0, ordering: .relaxed)
        runOnAll { worker in
            while true {
                let start = shared.nextChunk.wrappingAdd(chunk, ordering: .relaxed).oldValue
                if start >= count { break }
                body(start..<min(start + chunk, count), worker)
            }
        }
    }
}
