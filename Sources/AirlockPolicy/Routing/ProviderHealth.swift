/// What the gateway's circuit breakers say about a provider right now.
public enum ProviderHealth: String, Sendable, Codable, CaseIterable, CustomStringConvertible {
    case healthy
    /// Half-open or recently failing: still a candidate, after the healthy ones.
    case degraded
    /// Circuit open: not a candidate.
    case unavailable

    public var description: String { rawValue }
}
