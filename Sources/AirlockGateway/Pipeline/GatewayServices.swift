import AirlockAudit
import AirlockCore
import AirlockDetect
import AirlockEngine
import AirlockPolicy
import AirlockStore
import AirlockUpstream
import Crypto
import Foundation
import Logging

/// The long-lived parts every route needs, built once at startup.
public struct GatewayServices: Sendable {
    public let configuration: GatewayConfiguration
    public let upstream: UpstreamClient
    public let readiness: Readiness
    public let governance: GovernanceCache
    public let health: ProviderHealthTracker
    public let limiter: TenantRateLimiter
    public let scanner: AirlockDetect.Scanner
    public let audit: AuditWriter?
    public let localEngine: LocalEngine?
    /// Counters and histograms behind `/metrics`.
    public let metrics: GatewayMetrics
    /// Policy for tenants that have not applied one.
    public let defaultPolicy: PolicyEvaluator
    /// Database and audit keys for the web console; nil leaves `/console` unmounted.
    public var console: ConsoleDependencies?
    /// Providers from the configuration file/environment; the database's are added per snapshot.
    let configuredProviders: [ProviderConfig]
    let environment: [String: String]
    let fingerprintKey: [UInt8]
    /// The listener's connection cap (`limits.max_connections`), shared by every connection.
    let connections: ConnectionLimiter
    /// Deriving a tenant's key and HMAC schedule per call was ~1% of a small call's CPU.
    let tenantOperators = BoundedCache<String, Operators>(capacity: 10_000)

    public init(configuration: GatewayConfiguration, upstream: UpstreamClient, readiness: Readiness, governance: GovernanceCache,
                audit: AuditWriter?, localEngine: LocalEngine?, defaultPolicy: Policy, fingerprintKey: [UInt8],
                environment: [String: String], metrics: GatewayMetrics = GatewayMetrics()) {
        self.configuration = configuration
        self.upstream = upstream
        self.readiness = readiness
        self.governance = governance
        self.health = ProviderHealthTracker()
        self.limiter = TenantRateLimiter()
        self.scanner = AirlockDetect.Scanner()
        self.audit = audit
        self.localEngine = localEngine
        self.metrics = metrics
        self.defaultPolicy = PolicyEvaluator(defaultPolicy)
        self.configuredProviders = configuration.providers.map(\.providerConfig)
        self.environment = environment
        self.fingerprintKey = fingerprintKey
        self.connections = ConnectionLimiter(limit: configuration.limits.maxConnections ?? ConnectionLimiter.defaultLimit(),
                                             perClient: configuration.limits.maxConnectionsPerClient)
    }

    /// Every provider this instance can route to: configuration, then database (which wins
    /// on a name clash), then the local engine.
    func catalog(_ snapshot: GovernanceSnapshot) -> [ProviderConfig] {
        var byName: [String: ProviderConfig] = [:]
        var order: [String] = []
        for p in configuredProviders + snapshot.providers.providers {
            if byName[p.name] == nil { order.append(p.name) }
            byName[p.name] = p
        }
        var all = order.compactMap { byName[$0] }
        if let engine = localEngine, !all.contains(where: \.isLocal) {
            all.append(ProviderConfig(name: "local", kind: .local, region: .local,
                                      models: [ProviderModel(name: configuration.local.modelAlias, aliases: [engine.modelName])]))
        }
        return all
    }

    /// Per-tenant fingerprint key, so equal values in two tenants give unrelated fingerprints.
    func operators(tenant: String) -> Operators {
        tenantOperators.value(tenant) {
            let key = HMAC<SHA256>.authenticationCode(for: Data(tenant.utf8), using: SymmetricKey(data: fingerprintKey))
            return Operators(hashKey: Array(key))
        }
    }

    /// Where to send a remote candidate, with its key read from the named environment variable.
    func endpoint(for candidate: RouteCandidate, in providers: [ProviderConfig]) -> ProviderEndpoint? {
        guard let p = providers.first(where: { $0.name == candidate.provider }), var base = p.baseURL else { return nil }
        let kind: ProviderEndpoint.Kind
        switch p.kind {
        case .openai: kind = .openai
        case .deepseek: kind = .deepseek
        case .azureOpenAI:
            kind = .azure
            if let deployment = candidate.deployment { base = base.hasSuffix("/") ? base + "openai/deployments/\(deployment)" : base + "/openai/deployments/\(deployment)" }
        case .local: return nil
        }
        return ProviderEndpoint(name: p.name, kind: kind, baseURL: base, region: p.region, models: p.models.map(\.name),
                                apiKey: p.secretEnv.flatMap { environment[$0] }, azureAPIVersion: p.apiVersion)
    }
}

extension GatewayConfiguration.Provider {
    public var providerConfig: ProviderConfig {
        let kind: ProviderKind
        switch self.kind {
        case .openai: kind = .openai
        case .deepseek: kind = .deepseek
        case .azure: kind = .azureOpenAI
        case .local: kind = .local
        case .compatible: kind = .openai
        }
        return ProviderConfig(name: name, kind: kind, baseURL: baseURL, region: Region(region),
                              models: models.map { ProviderModel(name: $0) }, priority: priority, weight: weight,
                              secretEnv: apiKeyEnv, apiVersion: azureAPIVersion)
    }
}
