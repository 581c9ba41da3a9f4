import Synchronization

/// Values derived once per key and reused on the request path (metric handles per label set,
/// fingerprint operators per tenant), where deriving them again on every call is a measurable
/// share of a small request's CPU. Bounded: past `capacity` keys it starts over.
final class BoundedCache<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private let values = Mutex<[Key: Value]>([:])
    let capacity: Int

    init(capacity: Int = 4096) {
        self.capacity = capacity
    }

    func value(_ key: Key, make: () -> Value) -> Value {
        if let hit = values.withLock({ $0[key] }) { return hit }
        let made = make()
        values.withLock { v in
            if v.count >= capacity { v.removeAll(keepingCapacity: true) }
            v[key] = made
        }
        return made
    }
}
