import Foundation
import Synchronization

/// Caps the client connections the listener holds at once (`limits.max_connections`).
///
/// Each connection holds a file descriptor. Without a cap, enough idle or slow clients take
/// every descriptor the process may open, and then the gateway cannot open what it needs to
/// answer anyone: provider connections, database connections, spool segments. Connections
/// over the cap are answered 503 and closed (`OverCapacityHandler`) instead.
final class ConnectionLimiter: Sendable {
    let limit: Int
    private let open = Atomic<Int>(0)
    private let refused = Atomic<Int>(0)

    init(limit: Int) {
        self.limit = limit
    }

    /// Takes a place for a new connection; false when all `limit` are taken.
    func tryAcquire() -> Bool {
        var current = open.load(ordering: .relaxed)
        while current < limit {
            let (exchanged, original) = open.compareExchange(expected: current, desired: current + 1, ordering: .acquiringAndReleasing)
            if exchanged { return true }
            current = original
        }
        refused.add(1, ordering: .relaxed)
        return false
    }

    /// Gives back the place of a connection that has closed.
    func release() {
        open.subtract(1, ordering: .acquiringAndReleasing)
    }

    var openConnections: Int { open.load(ordering: .relaxed) }
    var refusedConnections: Int { refused.load(ordering: .relaxed) }

    /// The default cap: the open-files limit less what the gateway keeps for itself (its
    /// database pool, provider connections, spool and model files, the event loops' own
    /// descriptors), at least 256 or a tenth of the limit.
    static func defaultLimit(openFilesLimit: Int? = currentOpenFilesLimit()) -> Int {
        guard let files = openFilesLimit, files > 0 else { return 1024 }
        return max(16, files - max(256, files / 10))
    }

    static func currentOpenFilesLimit() -> Int? {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return nil }
        // RLIM_INFINITY is all ones.
        return limit.rlim_cur == rlim_t.max ? Int.max / 2 : Int(clamping: limit.rlim_cur)
    }
}
