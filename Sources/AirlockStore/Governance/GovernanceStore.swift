import AirlockPolicy
import Foundation
import Logging
import PostgresNIO

/// The governance data in PostgreSQL: the four repositories over one client, and the
/// snapshot loader a gateway's cache calls at start, on every notification and periodically.
public struct GovernanceStore: Sendable {
    public let client: PostgresClient
    public let logger: Logger
    public let tenants: TenantRepository
    public let keys: APIKeyRepository
    public let providers: ProviderRepository
    public let policies: PolicyRepository

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
        tenants = TenantRepository(client: client, logger: logger)
        keys = APIKeyRepository(client: client, logger: logger)
        providers = ProviderRepository(client: client, logger: logger)
        policies = PolicyRepository(client: client, logger: logger)
    }

    /// Reads keys, tenants, active policies and providers in one read-only REPEATABLE READ
    /// transaction, so the snapshot is consistent (never a key without its tenant, never a
    /// pointer to a version it did not read). Policies whose sha256 matches one in `previous`
    /// are reused instead of parsed again.
    ///
    /// With `url`, the rows are read over a fresh connection instead of the pool: after a long
    /// outage the pool reconnects only on its backoff schedule (up to 60 s apart), while the
    /// database already answers.
    public func loadSnapshot(reusing previous: GovernanceSnapshot? = nil, overFreshConnectionTo url: DatabaseURL? = nil) async throws -> GovernanceSnapshot {
        let begin: PostgresQuery = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
        let rows = if let url {
            try await url.withFreshConnection(logger: logger) { try await $0.governanceTransaction(begin, logger: logger, readRows) }
        } else {
            try await client.governanceTransaction(begin, logger: logger, readRows)
        }
        return parse(rows, reusing: previous)
    }

    typealias StoredPolicy = (tenant: String, version: Int, sha: String, content: String)
    typealias SnapshotRows = (keys: [APIKeyHash: GovernanceSnapshot.KeyEntry], tenants: [String: GovernanceSnapshot.TenantEntry],
                              stored: [StoredPolicy], older: [StoredPolicy], providers: [ProviderConfig])

    private func readRows(_ connection: PostgresConnection) async throws -> SnapshotRows {
        var keys: [APIKeyHash: GovernanceSnapshot.KeyEntry] = [:]
        let keyRows = try await connection.query(
            "SELECT key_hash, id, tenant_id, revoked_at IS NOT NULL FROM api_keys", logger: logger)
        for try await (hash, id, tenant, revoked) in keyRows.decode((Data, String, String, Bool).self) {
            keys[APIKeyHash(bytes: Array(hash))] = .init(keyID: id, tenantID: tenant, revoked: revoked)
        }
        var tenants: [String: GovernanceSnapshot.TenantEntry] = [:]
        var stored: [StoredPolicy] = []
        let tenantRows = try await connection.query("""
            SELECT t.id, t.name, t.disabled, v.version, v.sha256, v.content
            FROM tenants t
            LEFT JOIN tenant_policies tp ON tp.tenant_id = t.id
            LEFT JOIN policy_versions v ON v.id = tp.policy_version_id
            """, logger: logger)
        for try await (id, name, disabled, version, sha, content) in tenantRows.decode((String, String, Bool, Int?, String?, String?).self) {
            tenants[id] = .init(id: id, name: name, disabled: disabled)
            if let version, let sha, let content { stored.append((id, version, sha, content)) }
        }
        // Older versions of tenants whose active policy may be in shadow mode (a cheap textual
        // pre-filter; the parsed mode decides), newest first: the last enforce-mode one is
        // what keeps being enforced while the shadow version is only recorded.
        var older: [StoredPolicy] = []
        let olderRows = try await connection.query("""
            SELECT v.tenant_id, v.version, v.sha256, v.content
            FROM tenant_policies tp
            JOIN policy_versions a ON a.id = tp.policy_version_id
            JOIN policy_versions v ON v.tenant_id = tp.tenant_id AND v.version < a.version
            WHERE a.content LIKE '%shadow%'
            ORDER BY v.tenant_id, v.version DESC
            """, logger: logger)
        for try await (tenant, version, sha, content) in olderRows.decode((String, Int, String, String).self) {
            older.append((tenant, version, sha, content))
        }
        let providers = try await ProviderRepository.readAll(connection, logger: logger)
        return (keys, tenants, stored, older, providers)
    }

    private func parse(_ rows: SnapshotRows, reusing previous: GovernanceSnapshot?) -> GovernanceSnapshot {
        let (keys, tenants, stored, older, providers) = rows
        var parsedBySHA: [String: Policy] = [:]
        for active in previous?.policies.values ?? [:].values { parsedBySHA[active.sha256] = active.policy }
        for active in previous?.previousEnforced.values ?? [:].values { parsedBySHA[active.sha256] = active.policy }
        var policies: [String: GovernanceSnapshot.ActivePolicy] = [:]
        var unloadable: [String: Int] = [:]
        for s in stored {
            if let policy = parsedBySHA[s.sha] ?? (try? Policy(yaml: s.content, file: "\(s.tenant)@v\(s.version)")) {
                parsedBySHA[s.sha] = policy
                policies[s.tenant] = .init(tenantID: s.tenant, version: s.version, sha256: s.sha, policy: policy)
            } else {
                unloadable[s.tenant] = s.version
                logger.error("stored policy no longer validates", metadata: ["tenant": .string(s.tenant), "version": "\(s.version)"])
            }
        }
        var previousEnforced: [String: GovernanceSnapshot.ActivePolicy] = [:]
        for s in older where policies[s.tenant]?.policy.mode == .shadow && previousEnforced[s.tenant] == nil {
            // Newest first; a version that no longer validates is skipped, not enforced.
            guard let policy = parsedBySHA[s.sha] ?? (try? Policy(yaml: s.content, file: "\(s.tenant)@v\(s.version)")) else { continue }
            parsedBySHA[s.sha] = policy
            if policy.mode == .enforce {
                previousEnforced[s.tenant] = .init(tenantID: s.tenant, version: s.version, sha256: s.sha, policy: policy)
            }
        }
        return GovernanceSnapshot(keys: keys, tenants: tenants, policies: policies, unloadablePolicies: unloadable,
                                  providers: ProviderCatalog(providers: providers), loadedAt: Date(),
                                  previousEnforced: previousEnforced)
    }
}
