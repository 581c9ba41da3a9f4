import CAirlockPrefetch
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A fixed pool of OS threads that run one data-parallel job at a time. The caller is
/// worker 0 and helpers 1..<threadCount. Helpers spin briefly between jobs (a decode step
/// issues ~150 small jobs back to back), then sleep on a condition variable so an idle
/// engine costs no CPU.
///
/// `parallelFor` jobs are split into chunks claimed from one atomic word and the job ends
/// when every chunk is *done*, not when every helper has checked in: on a shared machine a
/// helper is often descheduled, and waiting for it to wake up only to find no work left
/// cost a scheduler time slice per job. A helper that wakes late sees the job's chunks
/// all claimed (or a newer job) and touches nothing.
public final class WorkerPool: @unchecked Sendable {
    // All mutable state lives in `Shared`, which the helper threads retain; the pool's deinit
    // stops and joins them.
    public let threadCount: Int
    private let shared: Shared
    private var threads: [pthread_t] = []
    private let submitLock = Mutex<Void>(())

    /// The claim word of a `parallelFor` job: chunk count and next chunk index, plus the
    /// low bits of a job serial so that words of different jobs differ. A word with
    /// index < count belongs to the live job (a job ends only when all its chunks are done),
    /// so a helper that wins the compare-exchange on such a word holds a valid chunk of the
    /// job currently published, however late it woke.
    enum Claim {
        static let indexBits = 21
        static let maxChunks = 1 << indexBits - 1
        static let mask = 1 << indexBits - 1
        @inline(__always) static func make(serial: Int, count: Int) -> Int {
            ((serial & 0xF_FFFF) << (2 * indexBits)) | (count << indexBits)
        }
        @inline(__always) static func count(_ w: Int) -> Int { (w >> indexBits) & mask }
        @inline(__always) static func index(_ w: Int) -> Int { w & mask }
    }

    final class Shared: @unchecked Sendable {
        // Job fields are written by the submitter before it publishes the claim word or the
        // each-serial (release) and read by a helper only after it claims a chunk (acquire)
        // or, for `runOnAll`, while the submitter waits for every helper.
        /// Bumped for every job to wake helpers (64 bits: never wraps).
        let generation = Atomic<Int>(0)
        let claim = Atomic<Int>(0)
        /// Serial of the latest `runOnAll` job.
        let eachSerial = Atomic<Int>(0)
        let done = Atomic<Int>(0)
        let sleepers = Atomic<Int>(0)
        /// The CPU the submitter ran on when it published the latest job.
        let callerCPU = Atomic<Int>(-1)
        let shuttingDown = Atomic<Bool>(false)
        var chunkJob: ((Range<Int>, Int) -> Void)?
        var chunkSize = 0
        var itemCount = 0
        var eachJob: ((Int) -> Void)?
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

        /// Starts a job: wakes sleeping helpers only when there are any.
        func publish() {
            callerCPU.store(Int(airlock_current_cpu()), ordering: .relaxed)
            // Sequentially consistent with the sleepers' increment-then-check: either the
            // helper sees the new generation or this sees the helper asleep.
            generation.wrappingAdd(1, ordering: .sequentiallyConsistent)
            if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
                pthread_mutex_lock(lock)
                pthread_cond_broadcast(wake)
                pthread_mutex_unlock(lock)
            }
        }

        /// Claims and runs chunks of the live job until none are left.
        @inline(__always)
        func runChunks(worker: Int) {
            var w = claim.load(ordering: .acquiring)
            while Claim.index(w) < Claim.count(w) {
                let (exchanged, original) = claim.compareExchange(expected: w, desired: w &+ 1, ordering: .acquiringAndReleasing)
                if exchanged {
                    let start = Claim.index(w) &* chunkSize
                    chunkJob.unsafelyUnwrapped(start..<min(start &+ chunkSize, itemCount), worker)
                    done.wrappingAdd(1, ordering: .releasing)
                    w = claim.load(ordering: .acquiring)
                } else {
                    w = original
                }
            }
        }

        func helperLoop(index: Int) {
            var seen = 0
            var lastEach = 0
            while true {
                var spins = 0
                var spinUntil = 0
                var current = generation.load(ordering: .acquiring)
                while current == seen {
                    spins += 1
                    // Spin (no sched_yield: on a busy machine a yielding helper lost its core
                    // for whole time slices and missed the next token's jobs) for ~2 ms, which
                    // covers the gap between decode steps, then sleep.
                    if spins & 1023 == 0 {
                        let now = WorkerPool.monotonicMicroseconds()
                        if spinUntil == 0 { spinUntil = now + WorkerPool.spinMicroseconds }
                    }
                    // A helper sharing the submitter's CPU (the machine is busier than the pool
                    // has threads) would spin away its whole time slice while the submitter,
                    // queued behind it, cannot publish anything: sleep at once instead.
                    let cpu = spins & 63 == 0 ? Int(airlock_current_cpu()) : -1
                    let sharesCallerCPU = cpu >= 0 && cpu == callerCPU.load(ordering: .relaxed)
                    if !sharesCallerCPU
                        && (spinUntil == 0 || spins & 1023 != 0 || WorkerPool.monotonicMicroseconds() < spinUntil) {
                        airlock_cpu_relax()
                        current = generation.load(ordering: .acquiring)
                    } else {
                        pthread_mutex_lock(lock)
                        sleepers.wrappingAdd(1, ordering: .sequentiallyConsistent)
                        current = generation.load(ordering: .sequentiallyConsistent)
                        while current == seen {
                            pthread_cond_wait(wake, lock)
                            current = generation.load(ordering: .sequentiallyConsistent)
                        }
                        sleepers.wrappingSubtract(1, ordering: .relaxed)
                        pthread_mutex_unlock(lock)
                    }
                }
                seen = current
                if shuttingDown.load(ordering: .acquiring) { return }
                let each = eachSerial.load(ordering: .acquiring)
                if each != lastEach {
                    // A `runOnAll` job this helper has not run: the submitter waits for every
                    // helper, so it is the live job and its fields are stable.
                    lastEach = each
                    eachJob.unsafelyUnwrapped(index)
                    done.wrappingAdd(1, ordering: .releasing)
                } else {
                    runChunks(worker: index)
                }
            }
        }
    }

    private var serial = 0

    /// How long an idle helper spins before sleeping.
    static let spinMicroseconds = 2_000

    static func monotonicMicroseconds() -> Int {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC_COARSE, &ts)
        return ts.tv_sec * 1_000_000 + ts.tv_nsec / 1_000
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

    /// Runs `body(worker)` once on every worker (caller included) and returns when all are done.
    public func runOnAll(_ body: (Int) -> Void) {
        if threads.isEmpty { body(0); return }
        submitLock.withLock { _ in
            withoutActuallyEscaping(body) { escaping in
                let shared = self.shared
                serial += 1
                shared.eachJob = escaping
                shared.done.store(0, ordering: .relaxed)
                shared.eachSerial.store(serial, ordering: .releasing)
                shared.publish()
                escaping(0)
                waitUntilDone(threads.count)
                shared.eachJob = nil
            }
        }
    }

    /// While true, `parallelFor` runs every job on the calling thread (as worker 0) and the
    /// helpers, given nothing to do, go to sleep. Set only by the thread that submits jobs,
    /// between jobs (`ThreadModeTuner` turns it on when one thread is the faster).
    var runsSolo = false

    /// Splits `0..<count` into chunks of `chunk` and runs `body` on each, in parallel.
    /// `body` gets the chunk and the index of the worker running it (for per-worker scratch).
    public func parallelFor(count: Int, chunk: Int, _ body: (Range<Int>, Int) -> Void) {
        guard count > 0 else { return }
        if runsSolo {
            body(0..<count, 0)
            return
        }
        // The claim word holds at most `Claim.maxChunks` chunks.
        let chunk = max(1, chunk, (count + Claim.maxChunks - 1) / Claim.maxChunks)
        if threads.isEmpty || count <= chunk {
            body(0..<count, 0)
            return
        }
        let chunks = (count + chunk - 1) / chunk
        submitLock.withLock { _ in
            // The caller's closure itself is the job (no wrapper closure to allocate per job).
            withoutActuallyEscaping(body) { escaping in
                let shared = self.shared
                serial += 1
                shared.chunkJob = escaping
                shared.chunkSize = chunk
                shared.itemCount = count
                shared.done.store(0, ordering: .relaxed)
                shared.claim.store(Claim.make(serial: serial, count: chunks), ordering: .releasing)
                shared.publish()
                shared.runChunks(worker: 0)
                waitUntilDone(chunks)
                shared.chunkJob = nil
            }
        }
    }

    private func waitUntilDone(_ target: Int) {
        var spins = 0
        while shared.done.load(ordering: .acquiring) < target {
            spins += 1
            if spins < 2_000 || spins & 63 != 0 { airlock_cpu_relax() } else { sched_yield() }
        }
    }
}
