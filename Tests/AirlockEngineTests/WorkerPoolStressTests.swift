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
}
