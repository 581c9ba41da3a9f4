/// What a `PolicyChangeListener` reports.
public enum GovernanceEvent: Sendable, Hashable {
    /// LISTEN is established (first time or after a reconnect). Notifications sent while
    /// disconnected are lost, so reload everything on this event.
    case connected
    /// The listening connection went away; a reconnect with backoff follows.
    case disconnected
    /// A tenant's active policy moved (apply or rollback).
    case policyChanged(tenant: String)
    /// A tenant's keys or enabled state changed.
    case keysChanged(tenant: String)
    /// A provider changed; `*` after an import.
    case providersChanged(provider: String)

    init(channel: GovernanceChannel, payload: String) {
        switch channel {
        case .policy: self = .policyChanged(tenant: payload)
        case .keys: self = .keysChanged(tenant: payload)
        case .providers: self = .providersChanged(provider: payload)
        }
    }
}
