import AirlockDetect
import Crypto
import Foundation
import Synchronization

/// Each tenant's fingerprint operators, derived once instead of per call: deriving the
/// tenant key and the HMAC key schedule is a measurable share of a small request's CPU.
final class TenantOperatorsCache: Sendable {
    private let fingerprintKey: [UInt8]
    private let cache = Mutex<[String: Operators]>([:])
    /// Tenants are created by operators, but the cache is bounded all the same.
    static let capacity = 10_000

    init(fingerprintKey: [UInt8]) {
        self.fingerprintKey = fingerprintKey
    }

    /// Per-tenant key = HMAC(fingerprint key, tenant id), so equal values in two tenants give
    /// unrelated fingerprints.
    func operators(tenant: String) -> Operators {
        if let hit = cache.withLock({ $0[tenant] }) { return hit }
        let key = HMAC<SHA256>.authenticationCode(for: Data(tenant.utf8), using: SymmetricKey(data: fingerprintKey))
        let operators = Operators(hashKey: Array(key))
        cache.withLock { c in
            if c.count >= Self.capacity { c.removeAll(keepingCapacity: true) }
            c[tenant] = operators
        }
        return operators
    }
}
