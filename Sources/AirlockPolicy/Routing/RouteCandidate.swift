import AirlockCore

/// One place the request may be sent, in failover order.
public struct RouteCandidate: Sendable, Hashable, CustomStringConvertible {
    public var provider: String
    public var kind: ProviderKind
    public var region: Region
    /// The name to send upstream (an alias resolved; the engine's own model for local fallback).
    public var model: String
    /// Azure OpenAI deployment for `model`.
    public var deployment: String?
    public var health: ProviderHealth

    public init(provider: String, kind: ProviderKind, region: Region, model: String, deployment: String? = nil,
                health: ProviderHealth = .healthy) {
        self.provider = provider
        self.kind = kind
        self.region = region
        self.model = model
        self.deployment = deployment
        self.health = health
    }

    public var isLocal: Bool { kind == .local }

    /// `x-airlock-route`: `provider/region`.
    public var headerValue: String { "\(provider)/\(region)" }

    public var description: String { "\(provider) (\(kind), \(region)) model \(model)" + (health == .healthy ? "" : " [\(health)]") }
}
