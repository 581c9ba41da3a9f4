import Foundation
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
/// `parallelFor` jobs are split into chunks and every worker starts with a contiguous share
/// of them (its own atomic word, on its own cache line): it claims from the front of its
/// share and, once that is empty, steals from the back of the others'. A decode step's
/// matmuls thus stream each worker's rows in one run with no atomic word bouncing between
/// cores per chunk (one shared claim word cost a cache-line transfer per 32 KB of weights;
/// SmolLM2 decode at 2 threads on the quiet 2-core EPYC, paired runs: 127–169 → 159–190 tok/s).
/// On a loaded machine this pool was ~10% slower than the shared claim word; decode steps
/// then run on one thread anyway (`ThreadModeTuner`).
///
/// An owner claims half of what is left of its share at a time (8 chunks: 4, 2, 1, 1), so
/// most of its rows reach the kernel in one call: each call restarts the kernel's stream of
/// weight prefetches, and with one call per ~32 KB chunk two threads lost ~20% of a decode
/// step's matmul time (SmolLM2 at 2 threads on the quiet 2-core EPYC, per-step medians:
/// matmuls 4.5 → 3.7 ms). Thieves still take single chunks from the back. Each worker counts
/// the chunks it ran in a word of its own (no shared counter whose cache line moves between
/// the cores at every chunk). The price: a helper descheduled inside its first run holds up
/// to half its share until it runs again.
/// The job ends when every chunk is *done*, not when every helper has checked in: on a
/// shared machine a helper is often descheduled, and the others then steal its whole share
/// instead of waiting a scheduler time slice for it. A helper that wakes late sees the
/// job's shares empty (or a newer job) and touches nothing.
public final class WorkerPool: @unchecked Sendable {
    // All mutable state lives in `Shared`, which the helper threads retain; the pool's deinit
    // stops and joins them.
    public let threadCount: Int
    private let shared: Shared
    private var threads: [pthread_t] = []
    private let submitLock = Mutex<Void>(())

    /// One worker's share of a `parallelFor` job: chunks front..<back, plus the low bits of
    /// a job serial. A word with front < back belongs to the live job (a job ends only when
    /// all its chunks are done), so a worker that wins the compare-exchange on such a word
    /// holds a valid chunk of the job currently published, however late it woke.
    enum Share {
        static let indexBits = 21
        static let maxChunks = 1 << indexBits - 1
        static let mask = 1 << indexBits - 1
        static let frontOne = 1 << indexBits
        @inline(__always) static func make(serial: Int, front: Int, back: Int) -> Int {
            ((serial & 0x3F_FFFF) << (2 * indexBits)) | (front << indexBits) | back
        }
        @inline(__always) static func front(_ w: Int) -> Int { (w >> indexBits) & mask }
        @inline(__always) static func back(_ w: Int) -> Int { w & mask }
    }

    /// A share word alone on its cache line(s): the owner's claims stay in its own cache.
    /// `finished` counts the chunks this worker has run, over all jobs; only the worker writes
    /// it, with plain stores, on another line (thieves touch the share word, not it).
    final class Slot: @unchecked Sendable {
        private let before = (0, 0, 0, 0, 0, 0, 0, 0)
        let share = Atomic<Int>(0)
        private let between = (0, 0, 0, 0, 0, 0, 0, 0)
        let finished = Atomic<Int>(0)
        private let after = (0, 0, 0, 0, 0, 0, 0, 0)

        /// Called by the owning worker only.
        @inline(__always) func countChunks(_ n: Int) {
            finished.store(finished.load(ordering: .relaxed) &+ n, ordering: .releasing)
        }
    }

    final class Shared: @unchecked Sendable {
        // Job fields are written by the submitter before it publishes the share words or the
        // each-serial (release) and read by a helper only after it claims a chunk (acquire)
        // or, for `runOnAll`, while the submitter waits for every helper.
        /// Bumped for every job to wake helpers (64 bits: never wraps).
        let generation = Atomic<Int>(0)
        /// One share per worker (index 0 is the submitter).
        let slots: [Slot]
        /// Serial of the latest `runOnAll` job.
        let eachSerial = Atomic<Int>(0)
        /// Helpers that have run the latest `runOnAll` job.
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

        init(workers: Int) {
            slots = (0..<workers).map { _ in Slot() }
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

        /// Chunks run by all workers so far (read by the submitter).
        func finishedChunks() -> Int {
            var sum = 0
            for slot in slots { sum &+= slot.finished.load(ordering: .acquiring) }
            return sum
        }

        /// Claims and runs chunks of the live job until none are left: the worker's own share
        /// from the front, then the others' from the back.
        @inline(__always)
        func runChunks(worker: Int) {
            let own = slots[worker]
            var w = own.share.load(ordering: .acquiring)
            while Share.front(w) < Share.back(w) {
                // Half of what is left at a time (8 chunks: 4, 2, 1, 1), so the bulk of the
                // share is one kernel call; thieves still find single chunks at the back.
                let run = max(1, (Share.back(w) &- Share.front(w)) / 2)
                let (exchanged, original) = own.share.compareExchange(expected: w, desired: w &+ run &* Share.frontOne, ordering: .acquiringAndReleasing)
                if exchanged {
                    runChunk(Share.front(w), worker, own, run: run)
                    w = own.share.load(ordering: .acquiring)
                } else {
                    w = original
                }
            }
            var k = 1
            while k < slots.count {
                let victim = slots[(worker &+ k) % slots.count]
                var v = victim.share.load(ordering: .acquiring)
                while Share.front(v) < Share.back(v) {
                    let (exchanged, original) = victim.share.compareExchange(expected: v, desired: v &- 1, ordering: .acquiringAndReleasing)
                    if exchanged {
                        runChunk(Share.back(v) &- 1, worker, own)
                        v = victim.share.load(ordering: .acquiring)
                    } else {
                        v = original
                    }
                }
                k &+= 1
            }
        }

        @inline(__always)
        private func runChunk(_ index: Int, _ worker: Int, _ own: Slot, run: Int = 1) {
            let start = index &* chunkSize
            chunkJob.unsafelyUnwrapped(start..<min(start &+ run &* chunkSize, itemCount), worker)
            // Counted per chunk (a helper descheduled after its chunks must not hold the job
            // up), in the worker's own counter: one shared counter added to by both workers
            // moved its cache line between the cores at every chunk, ~16 times per matmul.
            own.countChunks(run)
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
        shared = Shared(workers: self.threadCount)
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
                let helpers = threads.count
                waitUntil { shared.done.load(ordering: .acquiring) >= helpers }
                shared.eachJob = nil
            }
        }
    }

    /// While true, `parallelFor` runs every job on the calling thread (as worker 0) and the
    /// helpers, given nothing to do, go to sleep. Set only by the thread that submits jobs,
    /// between jobs (`ThreadModeTuner` turns it on when one thread is the faster).
    var runsSolo = false

    /// The part of `parallelFor(count:chunk:)`'s items that `worker` starts with (its share
    /// before any stealing), for work planned ahead of the job (`WeightPrefetch`).
    func share(count: Int, chunk: Int, worker: Int) -> Range<Int> {
        guard count > 0 else { return 0..<0 }
        guard let chunk = effectiveChunk(count: count, chunk: chunk) else { return worker == 0 ? 0..<count : 0..<0 }
        let workers = shared.slots.count
        guard worker < workers else { return 0..<0 }
        let r = Self.shareChunks((count + chunk - 1) / chunk, worker: worker, of: workers)
        return min(count, r.lowerBound * chunk)..<min(count, r.upperBound * chunk)
    }

    /// The chunk size `parallelFor` cuts `count` items into, or nil when the job runs whole
    /// on the calling thread.
    private func effectiveChunk(count: Int, chunk: Int) -> Int? {
        guard !runsSolo else { return nil }
        // A share word holds at most `Share.maxChunks` chunks.
        let chunk = max(1, chunk, (count + Share.maxChunks - 1) / Share.maxChunks)
        return threads.isEmpty || count <= chunk ? nil : chunk
    }

    /// Worker `w`'s contiguous first share of `chunks` chunks, in chunks (the caller's first).
    private static func shareChunks(_ chunks: Int, worker w: Int, of workers: Int) -> Range<Int> {
        chunks * w / workers..<chunks * (w + 1) / workers
    }

    /// Splits `0..<count` into chunks of `chunk` and runs `body` on each, in parallel.
    /// `body` gets the chunk and the index of the worker running it (for per-worker scratch).
    public func parallelFor(count: Int, chunk: Int, _ body: (Range<Int>, Int) -> Void) {
        guard count > 0 else { return }
        guard let chunk = effectiveChunk(count: count, chunk: chunk) else {
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
                // Every chunk of earlier jobs is counted (they ended), and none of this one
                // can run before its shares are stored below.
                let target = shared.finishedChunks() &+ chunks
                // Contiguous shares, the caller's first; stores release the fields above.
                let workers = shared.slots.count
                for (w, slot) in shared.slots.enumerated() {
                    let own = Self.shareChunks(chunks, worker: w, of: workers)
                    slot.share.store(Share.make(serial: serial, front: own.lowerBound, back: own.upperBound), ordering: .releasing)
                }
                shared.publish()
                shared.runChunks(worker: 0)
                waitUntil { shared.finishedChunks() >= target }
                shared.chunkJob = nil
            }
        }
    }

    /// Time the submitter spent in long waits for helpers' chunks (past ~2,000 spins, tens of
    /// µs; a normal job's tail is a few µs): the sign of a helper descheduled mid-chunk.
    /// Read by `ThreadModeTuner` on the submitting thread.
    private(set) var longWaitNanoseconds: UInt64 = 0

    @inline(__always)
    private func waitUntil(_ finished: () -> Bool) {
        var spins = 0
        var longSince: UInt64 = 0
        while !finished() {
            spins += 1
            if spins == 2_000 { longSince = DispatchTime.now().uptimeNanoseconds }
            if spins < 2_000 || spins & 63 != 0 { airlock_cpu_relax() } else { sched_yield() }
        }
        if longSince != 0 { longWaitNanoseconds &+= DispatchTime.now().uptimeNanoseconds &- longSince }
    }
}
