import CAirlockPrefetch
import Foundation
import Synchronization
import Testing
@testable import AirlockEngine

/// The pool ends a `parallelFor` job when all its chunks are done, without waiting for
/// helpers that have not woken up yet; a late helper must then neither run a chunk twice nor
/// run one of the next job with the old job's body. Thousands of tiny jobs back to back (more
/// threads than cores, so helpers are descheduled mid-job) check every index is visited
/// exactly once by the job that owns it.
@Suite("Worker pool under churn")
struct WorkerPoolStressTests {
    @Test func tinyJobsBackToBackVisitEveryIndexOnce() {
        let pool = WorkerPool(threadCount: 4)
        let slots = 64
        let hits = UnsafeMutablePointer<Atomic<Int>>.allocate(capacity: slots)
        for i in 0..<slots { (hits + i).initialize(to: Atomic<Int>(0)) }
        defer { hits.deallocate() }
        var wrong = 0
        for job in 1...3_000 {
            let count = 1 + job % slots
            pool.parallelFor(count: count, chunk: 1 + job % 3) { range, _ in
                // Each index records the job that visited it; a stale body would record an old job.
                for i in range { hits[i].add(job, ordering: .relaxed) }
            }
            for i in 0..<count where hits[i].exchange(0, ordering: .relaxed) != job { wrong += 1 }
            if job % 500 == 0 {
                let each = Atomic<Int>(0)
                pool.runOnAll { _ in each.add(1, ordering: .relaxed) }
                #expect(each.load(ordering: .relaxed) == 4)
            }
        }
        #expect(wrong == 0)
    }

    /// A helper stalled in the middle of a job (descheduled; here blocked in its first chunk
    /// until the job's last index has run) must not keep the others from running the rest
    /// of the job, or the job never ends. A pool that handed each worker a fixed share
    /// without letting the others take it over fails this (the helper waits out its 5 s).
    @Test func aStalledHelperDoesNotHoldUpTheRestOfTheJob() {
        for threads in [2, 3] {
            let pool = WorkerPool(threadCount: threads)
            for count in [7, 100, 301] {
                let visits = UnsafeMutablePointer<Atomic<Int>>.allocate(capacity: count)
                for i in 0..<count { (visits + i).initialize(to: Atomic<Int>(0)) }
                defer { visits.deallocate() }
                let lastDone = Atomic<Bool>(false)
                let timedOut = Atomic<Int>(0)
                let stalled = Atomic<Bool>(false)
                pool.parallelFor(count: count, chunk: 1) { range, worker in
                    for i in range {
                        visits[i].add(1, ordering: .relaxed)
                        if i == count - 1 { lastDone.store(true, ordering: .releasing) }
                    }
                    // The last worker blocks in its first chunk until someone else has run the
                    // last index.
                    guard worker == threads - 1, stalled.compareExchange(expected: false, desired: true, ordering: .relaxed).exchanged
                    else { return }
                    let deadline = DispatchTime.now().uptimeNanoseconds + 5_000_000_000
                    while !lastDone.load(ordering: .acquiring) && DispatchTime.now().uptimeNanoseconds < deadline { usleep(100) }
                    if !lastDone.load(ordering: .acquiring) { timedOut.add(1, ordering: .relaxed) }
                }
                #expect(timedOut.load(ordering: .relaxed) == 0, "threads \(threads), count \(count)")
                #expect((0..<count).allSatisfy { visits[$0].load(ordering: .relaxed) == 1 }, "threads \(threads), count \(count)")
            }
        }
    }

    /// When the machine has fewer free CPUs than the pool has threads, a helper can share the
    /// submitter's CPU; it must then sleep rather than spin, or every job waits for the
    /// helper's time slice to run out. The pool is created on a thread pinned to the CPU it
    /// runs on, so its helper inherits that single CPU.
    @Test func helperSharingTheCallersCPUDoesNotStallJobs() {
        #if os(Linux)
        func timeJobs(threads: Int) -> Double {
            let result = Mutex<Double>(0)
            let thread = Thread {
                let cpu = airlock_current_cpu()
                guard cpu >= 0, airlock_pin_current_thread(cpu) == 0 else { return }
                let pool = WorkerPool(threadCount: threads)
                let sink = Atomic<Int>(0)
                let start = DispatchTime.now().uptimeNanoseconds
                for job in 0..<400 {
                    pool.parallelFor(count: 64, chunk: 8) { range, _ in
                        var x = job
                        for i in range { for k in 0..<200 { x = x &* 31 &+ i &+ k } }
                        sink.add(x & 1, ordering: .relaxed)
                    }
                }
                let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                result.withLock { $0 = seconds }
            }
            thread.start()
            while !thread.isFinished { usleep(1_000) }
            return result.withLock { $0 }
        }
        // Best of several each, interleaved. Other suites run beside this one on a 2-core CI
        // machine and can steal the CPU during any single measurement (a best of three once
        // measured 1.6×), so measuring goes on, up to 15 rounds, until the bests are clear of
        // that noise. A spinning helper never gets there: it takes half the CPU in every round.
        var one = Double.infinity, two = Double.infinity
        for round in 1...15 {
            one = min(one, timeJobs(threads: 1))
            two = min(two, timeJobs(threads: 2))
            if round >= 3 && two < 1.6 * one { break }
        }
        // No CPU affinity (not Linux, or not permitted): nothing to measure.
        guard one > 0 && two > 0 else { return }
        // A spinning helper takes half the CPU: two threads took 2.0× one thread's time
        // before the fix (40 vs 20 ms), 1.05–1.3× after (the cost of waking the helper).
        #expect(two < 1.6 * one, "two threads on one CPU: \(two) s, one thread: \(one) s")
        #endif
    }

    /// A worker takes half of what is left of its own share at a time, so a decode matmul's
    /// rows reach the kernel in a few long runs instead of one call per chunk (each call
    /// restarts the kernel's memory stream). Every run is made of whole chunks, runs never
    /// overlap, they cover the job exactly, and there are fewer calls than chunks.
    @Test func ownSharesAreClaimedInRunsOfWholeChunks() {
        let pool = WorkerPool(threadCount: 2)
        let count = 1_550, chunk = 100  // 16 chunks, the last one short
        for _ in 0..<200 {
            let calls = Mutex<[Range<Int>]>([])
            pool.parallelFor(count: count, chunk: chunk) { range, _ in
                calls.withLock { $0.append(range) }
            }
            let ranges = calls.withLock { $0 }.sorted { $0.lowerBound < $1.lowerBound }
            var next = 0
            for r in ranges {
                #expect(r.lowerBound == next, "runs must tile the job: \(ranges)")
                #expect(r.lowerBound % chunk == 0 && (r.upperBound % chunk == 0 || r.upperBound == count), "\(r)")
                next = r.upperBound
            }
            #expect(next == count)
            #expect(ranges.count < 16, "\(ranges.count) calls for 16 chunks")
        }
    }
}
