/// How the rows of a small audit COPY are handed to PostgreSQL: in chunks of `rows` with a
/// `pause` between them, so the backend waits on its socket between chunks instead of running
/// the whole batch in one go.
///
/// Why: a backend inside a COPY is not preempted by processes woken on its CPU (Linux 6.18,
/// EEVDF; the same with PostgreSQL at `SCHED_IDLE`). When PostgreSQL shares CPUs with the
/// gateway's provider or its clients, every millisecond a batch runs in one piece is a
/// millisecond a call can wait (`perf sched timehist`: 1–3 ms scheduling delays for the
/// benchmark's client and mock provider, each right after a 1.3–1.9 ms COPY; BENCHMARKS,
/// twenty-third session). Only batches of at most `upToRows` are paced: a larger one means
/// the writer is behind, and then throughput matters more than sharing the CPU.
public struct CopyPacing: Sendable, Equatable {
    public var rows: Int
    public var pause: Duration
    public var upToRows: Int

    public init(rows: Int, pause: Duration, upToRows: Int) {
        self.rows = rows
        self.pause = pause
        self.upToRows = upToRows
    }

    /// Every row at once (tests, and writers that do not share CPUs with anything).
    public static let none = CopyPacing(rows: 0, pause: .zero, upToRows: 0)
    /// Three rows (~7 KB with personal data), 150 µs apart, for batches up to 64 rows.
    public static let standard = CopyPacing(rows: 3, pause: .microseconds(150), upToRows: 64)

    /// The number of rows to send before pausing in a batch of `count`, or nil for all at once.
    func chunk(forBatchOf count: Int) -> Int? {
        rows > 0 && pause > .zero && count > rows && count <= upToRows ? rows : nil
    }
}
