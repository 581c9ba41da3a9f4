import Synchronization

/// Remembers the metric handles of label sets already seen, so the request path looks up a
/// string instead of asking the registry (which locks, builds the label key and searches its
/// series) several times per call. Bounded: past `capacity` label sets it starts over.
final class MetricHandleCache<Handle: Sendable>: Sendable {
    private let handles = Mutex<[String: Handle]>([:])
    let capacity: Int

    init(capacity: Int = 4096) {
        self.capacity = capacity
    }

    func handle(_ key: String, make: () -> Handle) -> Handle {
        if let hit = handles.withLock({ $0[key] }) { return hit }
        let made = make()
        handles.withLock { h in
            if h.count >= capacity { h.removeAll(keepingCapacity: true) }
            h[key] = made
        }
        return made
    }
}
