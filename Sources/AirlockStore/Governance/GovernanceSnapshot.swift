import AirlockPolicy
import Foundation

/// Everything a gateway instance needs to decide a request without asking the database:
/// which key belongs to whom, each tenant's active policy, and the provider catalog.
/// Loaded in one consistent read by `GovernanceStore.loadSnapshot()`; immutable, so a cache
/// can swap it atomically and keep the last good one while the database is away.
public struct GovernanceSnapshot: Sendable {
    /// A stored key, without its tenant's state (that lives in `tenants`).
    public struct KeyEntry: Sendable, Hashable {
        public var keyID: String
        public var tenantID: String
        public var revoked: Bool

        public init(keyID: String, tenantID: String, revoked: Bool) {
            self.keyID = keyID
            self.tenantID = tenantID
            self.revoked = revoked
        }
    }

    public struct TenantEntry: Sendable, Hashable {
        public var id: String
        public var name: String
        public var disabled: Bool

        public init(id: String, name: String, disabled: Bool) {
            self.id = id
            self.name = name
            self.disabled = disabled
        }
    }

    /// A tenant's active policy, parsed.
    public struct ActivePolicy: Sendable, Hashable {
        public var tenantID: String
        public var version: Int
        public var sha256: String
        public var policy: Policy

        public init(tenantID: String, version: Int, sha256: String, policy: Policy) {
            self.tenantID = tenantID
            self.version = version
            self.sha256 = sha256
            self.policy = policy
        }
    }

    public var keys: [APIKeyHash: KeyEntry]
    public var tenants: [String: TenantEntry]
    /// Tenants with an active policy that parses; see `unloadablePolicies` for the others.
    public var policies: [String: ActivePolicy]
    /// Tenant id → active version number whose stored YAML no longer validates (e.g. after an
    /// upgrade tightened the schema). The gateway should fail closed for these tenants.
    public var unloadablePolicies: [String: Int]
    /// Tenant id → the most recent `enforce`-mode version older than its active one, for tenants
    /// whose active policy is in `shadow` mode: that is what the gateway keeps enforcing.
    public var previousEnforced: [String: ActivePolicy]
    public var providers: ProviderCatalog
    public var loadedAt: Date

    public init(keys: [APIKeyHash: KeyEntry] = [:], tenants: [String: TenantEntry] = [:], policies: [String: ActivePolicy] = [:],
                unloadablePolicies: [String: Int] = [:], providers: ProviderCatalog = ProviderCatalog(providers: []),
                loadedAt: Date = Date(), previousEnforced: [String: ActivePolicy] = [:]) {
        self.keys = keys
        self.previousEnforced = previousEnforced
        self.tenants = tenants
        self.policies = policies
        self.unloadablePolicies = unloadablePolicies
        self.providers = providers
        self.loadedAt = loadedAt
    }

    /// The same answer as `APIKeyRepository.authenticate`, from memory.
    public func authenticate(presentedKey: String) -> AuthenticatedKey? {
        guard !presentedKey.isEmpty, presentedKey.utf8.count <= APIKeyGenerator.maximumPresentedLength else { return nil }
        return authenticate(hash: APIKeyHash(presentedKey: presentedKey))
    }

    public func authenticate(hash: APIKeyHash) -> AuthenticatedKey? {
        guard let key = keys[hash] else { return nil }
        // A key whose tenant row vanished cannot be used.
        let disabled = tenants[key.tenantID]?.disabled ?? true
        return AuthenticatedKey(tenantID: key.tenantID, keyID: key.keyID, tenantDisabled: disabled, revoked: key.revoked)
    }

    /// The tenant's active policy; nil when it has none (or it is unloadable).
    public func activePolicy(tenant: String) -> ActivePolicy? { policies[tenant] }

    /// For a tenant whose active policy is in shadow mode: the last enforce-mode version before
    /// it (nil when there is none; callers then enforce the default policy).
    public func previousEnforcedPolicy(tenant: String) -> ActivePolicy? { previousEnforced[tenant] }
}
