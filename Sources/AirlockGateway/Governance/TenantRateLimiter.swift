import AirlockCore
import AirlockPolicy
import Foundation
import Synchronization

/// Per-tenant request rate (sliding one-minute token bucket) and daily token budget from
/// the tenant's policy. Counted per instance: with N instances a tenant may get up to N× the
/// rate, which is the usual trade for not putting the database on the request path.
public final class TenantRateLimiter: Sendable {
    struct Bucket: Sendable {
        var tokens: Double
        var updated: ContinuousClock.Instant
        var day: Int
        var tokensToday: Int
    }

    private let buckets = Mutex<[String: Bucket]>([:])

    public init() {}

    static func today() -> Int { Int(Date().timeIntervalSince1970 / 86_400) }

    /// Takes one request from the tenant's bucket, or throws 429.
    public func admit(tenant: String, limits: RateLimits?) throws(AirlockError) {
        guard let limits else { return }
        let now = ContinuousClock.now
        let day = Self.today()
        let result: AirlockError? = buckets.withLock { all in
            var b = all[tenant] ?? Bucket(tokens: Double(limits.requestsPerMinute ?? 0), updated: now, day: day, tokensToday: 0)
            if b.day != day { b.day = day; b.tokensToday = 0 }
            if let budget = limits.tokensPerDay, b.tokensToday >= budget {
                all[tenant] = b
                return AirlockError(.rateLimited, "Daily token budget of tenant exhausted")
            }
            if let rpm = limits.requestsPerMinute {
                let elapsed = Double((now - b.updated).components.seconds) + Double((now - b.updated).components.attoseconds) / 1e18
                b.tokens = min(Double(rpm), b.tokens + elapsed * Double(rpm) / 60)
                b.updated = now
                if b.tokens < 1 {
                    all[tenant] = b
                    return AirlockError(.rateLimited, "Rate limit of \(rpm) requests per minute exceeded")
                }
                b.tokens -= 1
            }
            all[tenant] = b
            return nil
        }
        if let result { throw result }
    }

    /// Adds a finished call's tokens to the tenant's daily budget.
    public func consume(tenant: String, tokens: Int) {
        let day = Self.today()
        buckets.withLock { all in
            guard var b = all[tenant] else { return }
            if b.day != day { b.day = day; b.tokensToday = 0 }
            b.tokensToday += tokens
            all[tenant] = b
        }
    }
}
