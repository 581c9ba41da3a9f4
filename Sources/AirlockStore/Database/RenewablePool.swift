import Logging
import PostgresNIO
import Synchronization

/// A connection pool that can be swapped for a fresh one while it runs.
///
/// PostgresNIO's pool retries a lost server on a backoff that grows to 60 s, and offers no way
/// to cut it short: after a long outage it can keep every query waiting for up to a minute
/// while PostgreSQL already answers. `renew()` puts a fresh pool (which connects at once) in
/// its place. Holders read `client` at each use, so their next query goes to the fresh pool.
/// The old one keeps running for `retireAfter`, so a query already queued on it is still
/// served once it reconnects, and is then closed.
public final class RenewablePool: Sendable {
    private struct State {
        var current: PostgresClient
        /// The current pool's run; nil until `run()` starts it.
        var currentRun: Task<Void, Never>?
        var retiring: [Int: Task<Void, Never>] = [:]
        var renewals = 0
        var stopped = false
    }

    private let state: Mutex<State>
    private let makeClient: (@Sendable () -> PostgresClient)?
    private let retireAfter: Duration
    private let logger: Logger

    /// `makeClient` builds each replacement; without it the pool is never renewed (a CLI
    /// command, a test, or a gateway whose pool is run elsewhere).
    public init(client: PostgresClient, renewWith makeClient: (@Sendable () -> PostgresClient)? = nil,
                retireAfter: Duration = .seconds(60), logger: Logger) {
        state = Mutex(State(current: client))
        self.makeClient = makeClient
        self.retireAfter = retireAfter
        self.logger = logger
    }

    /// The pool to send the next query to.
    public var client: PostgresClient { state.withLock { $0.current } }

    /// How many times the pool was renewed.
    public var renewals: Int { state.withLock { $0.renewals } }

    /// Runs the current pool, and each one that replaces it, until cancelled; then closes them
    /// all (a retiring one included) and returns once they are closed.
    public func run() async {
        let started = state.withLock { s -> Bool in
            guard s.currentRun == nil, !s.stopped else { return false }
            let client = s.current
            s.currentRun = Task { await client.run() }
            return true
        }
        guard started else { return }
        while !Task.isCancelled { try? await Task.sleep(for: .seconds(3600)) }
        let runs = state.withLock { s -> [Task<Void, Never>] in
            s.stopped = true
            return Array(s.retiring.values) + (s.currentRun.map { [$0] } ?? [])
        }
        for run in runs { run.cancel() }
        for run in runs { await run.value }
    }

    /// Puts a fresh pool in place of the current one; false when this pool cannot be renewed
    /// or is not running.
    @discardableResult
    public func renew(reason: String) -> Bool {
        guard let makeClient else { return false }
        let fresh = makeClient()  // connects only once run, so an unused one costs nothing
        let retired = state.withLock { s -> (id: Int, run: Task<Void, Never>)? in
            guard !s.stopped, let old = s.currentRun else { return nil }
            s.renewals += 1
            s.current = fresh
            s.currentRun = Task { await fresh.run() }
            s.retiring[s.renewals] = old
            return (s.renewals, old)
        }
        guard let retired else { return false }
        logger.notice("database pool renewed", metadata: ["reason": .string(reason), "old_pool_closes_in": "\(retireAfter)"])
        Task { [retireAfter] in
            try? await Task.sleep(for: retireAfter)
            let run = self.state.withLock { $0.retiring.removeValue(forKey: retired.id) }
            run?.cancel()
        }
        return true
    }
}
