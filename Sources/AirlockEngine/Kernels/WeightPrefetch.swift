import CAirlockPrefetch

/// Per-worker queues of weight bytes to pull into the core's cache while it computes
/// something that reads no weights (attention). A decode step is a chain of matmuls that
/// stream weights from DRAM and phases that do not; without this the memory sits idle in
/// the latter. Each worker queues the rows it will itself compute in the next matmuls
/// (its contiguous share of the pool job), and the attention loops pull a few cache lines
/// per iteration, so the prefetches overlap the arithmetic instead of stalling it.
final class WeightPrefetch: @unchecked Sendable {
    /// Ranges per worker.
    static let maxRanges = 6
    // Per worker, on its own 256 bytes: [cursor, end, next range, range count, (start, end)…].
    private static let slotInts = 32
    private let slots: UnsafeMutablePointer<Int>
    let workers: Int

    init(workers: Int) {
        self.workers = max(1, workers)
        slots = .allocate(capacity: self.workers * Self.slotInts)
        slots.initialize(repeating: 0, count: self.workers * Self.slotInts)
    }

    deinit { slots.deallocate() }

    /// Replaces every worker's queue with nothing.
    func clear() {
        for w in 0..<workers { (slots + w * Self.slotInts).update(repeating: 0, count: 4) }
    }

    /// Appends `bytes` bytes at `p` to worker `w`'s queue (ignored when the queue is full).
    func append(worker w: Int, _ p: UnsafeRawPointer, bytes: Int) {
        guard w < workers, bytes > 0 else { return }
        let s = slots + w * Self.slotInts
        let count = s[3]
        guard count < Self.maxRanges else { return }
        let start = Int(bitPattern: p) & ~63
        s[4 + 2 * count] = start
        s[5 + 2 * count] = Int(bitPattern: p) + bytes
        s[3] = count + 1
    }

    /// Worker `w`'s queued byte ranges (addresses, the first rounded down to its cache line)
    /// and the address of the next line it will request (0 before the first step).
    func queue(worker w: Int) -> (ranges: [Range<Int>], cursor: Int) {
        let s = slots + w * Self.slotInts
        return ((0..<s[3]).map { s[4 + 2 * $0]..<s[5 + 2 * $0] }, s[0])
    }

    /// Requests the next `lines` cache lines of worker `w`'s queue. Called only by worker
    /// `w`, between queue updates (which happen outside pool jobs).
    @inline(__always)
    func step(_ w: Int, lines: Int) {
        let s = slots + w &* Self.slotInts
        var cursor = s[0], end = s[1]
        var left = lines
        while left > 0 {
            if cursor >= end {
                let next = s[2]
                if next >= s[3] { break }
                cursor = s[4 &+ 2 &* next]
                end = s[5 &+ 2 &* next]
                s[1] = end
                s[2] = next &+ 1
                continue
            }
            airlock_prefetch_l2(UnsafeRawPointer(bitPattern: cursor).unsafelyUnwrapped)
            cursor &+= 64
            left &-= 1
        }
        s[0] = cursor
    }
}
