import Foundation
import Synchronization

/// Caps the client connections the listener holds at once (`limits.max_connections`), and
/// optionally those of any one client address (`limits.max_connections_per_client`).
///
/// Each connection holds a file descriptor. Without a cap, enough idle or slow clients take
/// every descriptor the process may open, and then the gateway cannot open what it needs to
/// answer anyone: provider connections, database connections, spool segments. Connections
/// over the cap are answered 503 and closed (`OverCapacityHandler`) instead. The listener's
/// cap alone still lets one client take every place (until the idle timeout frees them); the
/// per-client cap keeps places for the others.
final class ConnectionLimiter: Sendable {
    /// Why a connection was not given a place.
    enum Refusal: Sendable, Equatable {
        case listenerFull, clientFull
    }

    let limit: Int
    /// Places one client address may hold; nil: no per-client cap (behind a load balancer or
    /// proxy every connection comes from its address).
    let perClient: Int?
    private let open = Atomic<Int>(0)
    private let refused = Atomic<Int>(0)
    private let refusedForClient = Atomic<Int>(0)
    /// Places held per client address (only with `perClient`).
    private let byClient = Mutex<[String: Int]>([:])

    init(limit: Int, perClient: Int? = nil) {
        self.limit = limit
        self.perClient = perClient
    }

    /// Takes a place for a new connection from `client` (its address, without the port);
    /// returns why not when none is left. Give it back with `release(client:)`.
    func acquire(client: String?) -> Refusal? {
        var current = open.load(ordering: .relaxed)
        while true {
            guard current < limit else {
                refused.add(1, ordering: .relaxed)
                return .listenerFull
            }
            let (exchanged, original) = open.compareExchange(expected: current, desired: current + 1, ordering: .acquiringAndReleasing)
            if exchanged { break }
            current = original
        }
        if let perClient, let client {
            let taken = byClient.withLock { counts -> Bool in
                let held = counts[client, default: 0]
                guard held < perClient else { return false }
                counts[client] = held + 1
                return true
            }
            if !taken {
                open.subtract(1, ordering: .acquiringAndReleasing)
                refused.add(1, ordering: .relaxed)
                refusedForClient.add(1, ordering: .relaxed)
                return .clientFull
            }
        }
        return nil
    }

    /// Gives back the place of a connection from `client` that has closed.
    func release(client: String?) {
        if perClient != nil, let client {
            byClient.withLock { counts in
                let held = counts[client, default: 1] - 1
                counts[client] = held > 0 ? held : nil
            }
        }
        open.subtract(1, ordering: .acquiringAndReleasing)
    }

    var openConnections: Int { open.load(ordering: .relaxed) }
    /// Refused for either cap.
    var refusedConnections: Int { refused.load(ordering: .relaxed) }
    /// Refused because their client held `perClient` places already.
    var refusedForClientConnections: Int { refusedForClient.load(ordering: .relaxed) }
    /// Client addresses holding a place now (only counted with `perClient`).
    var clientsHoldingPlaces: Int { perClient == nil ? 0 : byClient.withLock { $0.count } }

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
