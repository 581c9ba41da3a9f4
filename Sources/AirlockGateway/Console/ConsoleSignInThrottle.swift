import Foundation
import Synchronization

/// Limits failed sign-ins per client address, so a script guessing tokens can neither
/// hammer the operator table nor flood the admin audit chain with `console.sign_in_failed`
/// events. Tokens carry 256 bits, so this is about load, not about guessing odds.
final class ConsoleSignInThrottle: Sendable {
    let maxFailures: Int
    let window: TimeInterval
    private let failures = Mutex<[String: [Date]]>([:])

    init(maxFailures: Int = 10, window: TimeInterval = 300) {
        self.maxFailures = maxFailures
        self.window = window
    }

    /// Whether `client` may try now.
    func allows(_ client: String, now: Date = Date()) -> Bool {
        failures.withLock { map in
            let recent = (map[client] ?? []).filter { now.timeIntervalSince($0) < window }
            map[client] = recent.isEmpty ? nil : recent
            return recent.count < maxFailures
        }
    }

    func recordFailure(_ client: String, now: Date = Date()) {
        failures.withLock { map in
            if map.count > 10_000 { map = map.filter { $0.value.contains { now.timeIntervalSince($0) < window } } }
            map[client, default: []].append(now)
        }
    }

    func reset(_ client: String) {
        _ = failures.withLock { $0.removeValue(forKey: client) }
    }
}
