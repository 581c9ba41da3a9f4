import AirlockAudit
import AirlockCore
import AirlockPolicy
import AirlockStore
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// The keys, tenants, policies and providers this instance enforces, held in memory so a
/// request never waits on the database. Reloaded when PostgreSQL notifies a change (within
/// a second on every instance) and periodically; while the database is unreachable the last
/// good snapshot keeps being enforced for `maxStale`, after which requests are refused —
/// never waved through.
public final class GovernanceCache: Service, Sendable {
    struct State: Sendable {
        var snapshot: GovernanceSnapshot?
        var compiled: [String: PolicyEvaluator] = [:]
        var lastSuccess: ContinuousClock.Instant?
        var dirty = true
        /// The last reload attempt failed (the database is unreachable): nothing is on its way.
        var lastAttemptFailed = false
        /// Reloads that finished and were applied.
        var applied = 0
        /// Bumped by each reload; an abandoned (timed-out) reload that finishes late must not
        /// overwrite what a newer one loaded.
        var generation = 0
    }

    /// Read at each reload: the gateway's pool may have been renewed since the last one.
    let store: (@Sendable () -> GovernanceStore)?
    let logger: Logger
    let reloadInterval: Duration
    let maxStale: Duration
    /// Where to read from when the pool is not known to work (`Readiness.isPoolUp`): a fresh
    /// connection fails at once while the database is down, and succeeds as soon as it is
    /// back, where the pool would wait out its reconnect backoff (up to 60 s).
    let freshConnection: (url: DatabaseURL, poolIsUp: @Sendable () -> Bool)?
    private let state = Mutex(State())
    private let wake = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))

    public init(store: (@Sendable () -> GovernanceStore)?, reloadInterval: Duration, maxStale: Duration, logger: Logger,
                freshConnection: (url: DatabaseURL, poolIsUp: @Sendable () -> Bool)? = nil) {
        self.store = store
        self.reloadInterval = reloadInterval
        self.maxStale = maxStale
        self.logger = logger
        self.freshConnection = freshConnection
    }

    /// For tests and database-less use: a fixed snapshot.
    public init(snapshot: GovernanceSnapshot, logger: Logger) {
        self.store = nil
        self.freshConnection = nil
        self.reloadInterval = .seconds(3600)
        self.maxStale = .seconds(1 << 40)
        self.logger = logger
        state.withLock { $0.snapshot = snapshot; $0.lastSuccess = .now; $0.dirty = false }
    }

    /// The snapshot to enforce, or 503 when there is none or it is too old to trust.
    public func current() throws(AirlockError) -> GovernanceSnapshot {
        let (snapshot, last) = state.withLock { ($0.snapshot, $0.lastSuccess) }
        guard let snapshot, let last else { throw AirlockError(.notReady, "policies are not loaded yet") }
        guard ContinuousClock.now - last <= maxStale else {
            throw AirlockError(.notReady, "policies could not be refreshed from the database for too long; refusing rather than enforcing stale rules")
        }
        return snapshot
    }

    public var isFresh: Bool { (try? current()) != nil }

    /// Waits, at most `limit`, for a reload that is due (a change was notified) to be applied;
    /// true when one was. A key created a moment ago is then found instead of refused: the
    /// notification reaches every instance at once, the reload takes a little longer. Returns
    /// false at once when nothing is due or the database is failing, so unknown keys are
    /// normally refused without waiting.
    public func waitForPendingReload(upTo limit: Duration) async -> Bool {
        guard store != nil else { return false }
        let start = ContinuousClock.now
        let appliedBefore = state.withLock { $0.applied }
        while ContinuousClock.now - start < limit {
            let (dirty, failed, applied) = state.withLock { ($0.dirty, $0.lastAttemptFailed, $0.applied) }
            if applied != appliedBefore { return true }
            guard dirty, !failed else { return false }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return false
    }

    /// Compiled evaluator for a tenant's active policy (compiled once per version).
    public func evaluator(for policy: GovernanceSnapshot.ActivePolicy) -> PolicyEvaluator {
        let key = "\(policy.tenantID)#\(policy.sha256)"
        if let hit = state.withLock({ $0.compiled[key] }) { return hit }
        let evaluator = PolicyEvaluator(policy.policy, version: policy.version)
        state.withLock { $0.compiled[key] = evaluator }
        return evaluator
    }

    /// Marks the snapshot stale and wakes the reloader (called from change notifications).
    public func invalidate() {
        state.withLock { $0.dirty = true }
        wake.continuation.yield()
    }

    /// Loads once; used at startup before the server listens.
    public func reload() async throws {
        guard let store else { return }
        let (previous, generation) = state.withLock { s in
            s.generation += 1
            return (s.snapshot, s.generation)
        }
        let fresh = freshConnection.flatMap { $0.poolIsUp() ? nil : $0.url }
        let snapshot = try await store().loadSnapshot(reusing: previous, overFreshConnectionTo: fresh)
        let recovered = state.withLock { s -> Bool in
            guard s.generation == generation else { return false }
            defer { s.lastAttemptFailed = false }
            s.snapshot = snapshot
            s.lastSuccess = .now
            s.dirty = false
            s.applied += 1
            s.compiled = s.compiled.filter { key, _ in snapshot.policies.values.contains { "\($0.tenantID)#\($0.sha256)" == key } }
            return s.lastAttemptFailed
        }
        if recovered { logger.notice("policies reloaded after failed attempts", metadata: ["fresh_connection": "\(fresh != nil)"]) }
    }

    public func run() async throws {
        guard store != nil else { return }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { [wake] in
                // Periodic tick, so a missed notification is repaired within `reloadInterval`.
                while !Task.isCancelled {
                    try? await Task.sleep(for: self.reloadInterval)
                    self.state.withLock { $0.dirty = true }
                    wake.continuation.yield()
                }
            }
            group.addTask { [wake] in
                for await _ in wake.stream {
                    guard self.state.withLock({ $0.dirty }) else { continue }
                    do {
                        // Bounded: a query stuck on a dead connection must hold up neither
                        // later reloads nor shutdown (which waits for this loop).
                        try await withTimeout(.seconds(10)) { try await self.reload() }
                    } catch {
                        // Once per outage: while the database is down a fresh-connection
                        // reload fails at once, every half second.
                        let first = self.state.withLock { s in
                            defer { s.lastAttemptFailed = true }
                            return !s.lastAttemptFailed
                        }
                        if first { self.logger.warning("policy reload failed; enforcing the last known good snapshot") }
                        try? await Task.sleep(for: .milliseconds(500))
                        self.wake.continuation.yield()
                    }
                }
            }
            await withGracefulShutdownHandler {
                await group.next()
            } onGracefulShutdown: {
                self.wake.continuation.finish()
            }
            group.cancelAll()
        }
    }
}
