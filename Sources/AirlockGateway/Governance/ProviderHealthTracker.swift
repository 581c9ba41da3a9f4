import AirlockPolicy
import Synchronization

/// A small circuit breaker per provider: after `threshold` consecutive failures a provider
/// is skipped for `openFor`, then tried again. Routing reads it as `ProviderHealth`.
public final class ProviderHealthTracker: Sendable {
    struct Entry: Sendable {
        var consecutiveFailures = 0
        var openUntil: ContinuousClock.Instant?
    }

    let threshold: Int
    let openFor: Duration
    private let entries = Mutex<[String: Entry]>([:])

    public init(threshold: Int = 3, openFor: Duration = .seconds(30)) {
        self.threshold = threshold
        self.openFor = openFor
    }

    public func recordSuccess(_ provider: String) {
        entries.withLock { $0[provider] = Entry() }
    }

    public func recordFailure(_ provider: String) {
        entries.withLock { all in
            var e = all[provider] ?? Entry()
            e.consecutiveFailures += 1
            if e.consecutiveFailures >= threshold { e.openUntil = .now + openFor }
            all[provider] = e
        }
    }

    /// Providers whose circuit is open now (others are healthy or degraded).
    public var snapshot: [String: ProviderHealth] {
        let now = ContinuousClock.now
        return entries.withLock { all in
            var out: [String: ProviderHealth] = [:]
            for (name, e) in all {
                if let until = e.openUntil, until > now { out[name] = .unavailable }
                else if e.consecutiveFailures > 0 { out[name] = .degraded }
            }
            return out
        }
    }
}
