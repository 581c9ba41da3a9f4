import AirlockPolicy
import Foundation
import Logging
import PostgresNIO

/// Versioned tenant policies: every apply stores a new immutable version and moves the
/// tenant's active pointer, in one transaction that also notifies `airlock_policy`.
public struct PolicyRepository: Sendable {
    public let client: PostgresClient
    public let logger: Logger

    /// Larger documents are refused before parsing.
    public static let maximumPolicyBytes = 1 << 20

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// Validates `yaml` with AirlockPolicy and makes it the tenant's active policy as the next
    /// version. Content identical to the active version is a no-op (`outcome == .unchanged`).
    /// - Parameters:
    ///   - source: the file name shown in validation problems (`kr.yaml:12:3: …`).
    ///   - appliedBy: who applied it (an operator or admin-API principal, recorded as given).
    public func apply(tenant: String, yaml: String, appliedBy: String, source: String? = nil) async throws -> PolicyApplyResult {
        guard yaml.utf8.count <= Self.maximumPolicyBytes else {
            throw GovernanceError(.invalidArgument, "policy is larger than \(Self.maximumPolicyBytes) bytes")
        }
        let appliedBy = appliedBy.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !appliedBy.isEmpty, appliedBy.count <= 200 else {
            throw GovernanceError(.invalidArgument, "applied-by must be 1-200 characters")
        }
        let policy: Policy
        do { policy = try Policy(yaml: yaml, file: source) } catch {
            throw GovernanceError(.invalidDocument, "policy \(source.map { "'\($0)' " } ?? "")is invalid; not applied", problems: error.problems)
        }
        let sha = PolicyVersion.sha256(of: yaml)
        return try await client.governanceTransaction(logger: logger) { connection in
            // Locking the tenant row serialises concurrent applies and rollbacks per tenant.
            try await lockTenant(tenant, connection)
            if let active = try await activeVersion(tenant, connection), active.sha256 == sha {
                return PolicyApplyResult(outcome: .unchanged, version: active)
            }
            let rows = try await connection.query("""
                INSERT INTO policy_versions (tenant_id, version, name, content, sha256, applied_by)
                SELECT \(tenant), coalesce(max(version), 0) + 1, \(policy.name), \(yaml), \(sha), \(appliedBy)
                FROM policy_versions WHERE tenant_id = \(tenant)
                RETURNING id, version, applied_at
                """, logger: logger)
            var inserted: (Int64, Int, Date)?
            for try await row in rows.decode((Int64, Int, Date).self) { inserted = row }
            guard let (id, version, appliedAt) = inserted else { throw GovernanceError(.tenantNotFound, "tenant '\(tenant)' not found") }
            try await point(tenant, at: id, connection)
            logger.info("policy applied", metadata: ["tenant": .string(tenant), "version": "\(version)", "policy": .string(policy.name)])
            return PolicyApplyResult(outcome: .applied, version: PolicyVersion(
                tenantID: tenant, version: version, name: policy.name, sha256: sha, appliedBy: appliedBy,
                appliedAt: appliedAt, content: yaml, isActive: true))
        }
    }

    /// Makes an earlier (or later) stored version active again; no new version is created.
    public func rollback(tenant: String, to version: Int) async throws -> PolicyRollbackResult {
        try await client.governanceTransaction(logger: logger) { connection in
            try await lockTenant(tenant, connection)
            let previous = try await activeVersion(tenant, connection)
            guard let (id, target) = try await storedVersion(tenant, version, connection) else {
                throw GovernanceError(.policyVersionNotFound, "tenant '\(tenant)' has no policy version \(version)")
            }
            if previous?.version == version {
                return PolicyRollbackResult(outcome: .unchanged, previousVersion: version, version: target.activated())
            }
            try await point(tenant, at: id, connection)
            logger.info("policy rolled back", metadata: ["tenant": .string(tenant), "version": "\(version)"])
            return PolicyRollbackResult(outcome: .rolledBack, previousVersion: previous?.version, version: target.activated())
        }
    }

    /// The tenant's active version, or nil when it has none. `tenantNotFound` for an unknown tenant.
    public func active(tenant: String) async throws -> PolicyVersion? {
        try await client.withConnection { connection in
            try await requireTenant(tenant, connection)
            return try await activeVersion(tenant, connection)
        }
    }

    /// One stored version; `policyVersionNotFound` when it does not exist.
    public func version(tenant: String, _ version: Int) async throws -> PolicyVersion {
        try await client.withConnection { connection in
            try await requireTenant(tenant, connection)
            guard let (_, found) = try await storedVersion(tenant, version, connection) else {
                throw GovernanceError(.policyVersionNotFound, "tenant '\(tenant)' has no policy version \(version)")
            }
            let active = try await activeVersion(tenant, connection)
            return active?.version == found.version ? found.activated() : found
        }
    }

    /// Every version of the tenant's policy, oldest first, the active one marked.
    public func list(tenant: String) async throws -> [PolicyVersion] {
        try await client.withConnection { connection in
            try await requireTenant(tenant, connection)
            let rows = try await connection.query("""
                SELECT v.version, v.name, v.sha256, v.applied_by, v.applied_at, v.content, tp.tenant_id IS NOT NULL
                FROM policy_versions v
                LEFT JOIN tenant_policies tp ON tp.policy_version_id = v.id
                WHERE v.tenant_id = \(tenant)
                ORDER BY v.version
                """, logger: logger)
            var versions: [PolicyVersion] = []
            for try await (version, name, sha, by, at, content, active) in rows.decode((Int, String, String, String, Date, String, Bool).self) {
                versions.append(PolicyVersion(tenantID: tenant, version: version, name: name, sha256: sha, appliedBy: by,
                                              appliedAt: at, content: content, isActive: active))
            }
            return versions
        }
    }

    /// Line diff from one stored version to another.
    public func diff(tenant: String, from: Int, to: Int) async throws -> PolicyDiff {
        let old = try await version(tenant: tenant, from)
        let new = try await version(tenant: tenant, to)
        return PolicyDiff(old: old.content, new: new.content)
    }

    // MARK: Rows

    private func lockTenant(_ tenant: String, _ connection: PostgresConnection) async throws {
        let rows = try await connection.query("SELECT id FROM tenants WHERE id = \(tenant) FOR UPDATE", logger: logger)
        var found = false
        for try await _ in rows { found = true }
        guard found else { throw GovernanceError(.tenantNotFound, "tenant '\(tenant)' not found") }
    }

    private func requireTenant(_ tenant: String, _ connection: PostgresConnection) async throws {
        let rows = try await connection.query("SELECT id FROM tenants WHERE id = \(tenant)", logger: logger)
        var found = false
        for try await _ in rows { found = true }
        guard found else { throw GovernanceError(.tenantNotFound, "tenant '\(tenant)' not found") }
    }

    /// Moves the active pointer and queues the notification (delivered at COMMIT).
    private func point(_ tenant: String, at versionID: Int64, _ connection: PostgresConnection) async throws {
        try await connection.query("""
            INSERT INTO tenant_policies (tenant_id, policy_version_id) VALUES (\(tenant), \(versionID))
            ON CONFLICT (tenant_id) DO UPDATE SET policy_version_id = EXCLUDED.policy_version_id, updated_at = now()
            """, logger: logger)
        try await GovernanceChannel.policy.notify(tenant, on: connection, logger: logger)
    }

    private func activeVersion(_ tenant: String, _ connection: PostgresConnection) async throws -> PolicyVersion? {
        let rows = try await connection.query("""
            SELECT v.version, v.name, v.sha256, v.applied_by, v.applied_at, v.content
            FROM tenant_policies tp JOIN policy_versions v ON v.id = tp.policy_version_id
            WHERE tp.tenant_id = \(tenant)
            """, logger: logger)
        for try await (version, name, sha, by, at, content) in rows.decode((Int, String, String, String, Date, String).self) {
            return PolicyVersion(tenantID: tenant, version: version, name: name, sha256: sha, appliedBy: by, appliedAt: at,
                                 content: content, isActive: true)
        }
        return nil
    }

    private func storedVersion(_ tenant: String, _ version: Int, _ connection: PostgresConnection) async throws -> (Int64, PolicyVersion)? {
        let rows = try await connection.query("""
            SELECT id, name, sha256, applied_by, applied_at, content FROM policy_versions
            WHERE tenant_id = \(tenant) AND version = \(version)
            """, logger: logger)
        for try await (id, name, sha, by, at, content) in rows.decode((Int64, String, String, String, Date, String).self) {
            return (id, PolicyVersion(tenantID: tenant, version: version, name: name, sha256: sha, appliedBy: by, appliedAt: at,
                                      content: content, isActive: false))
        }
        return nil
    }
}

extension PolicyVersion {
    func activated() -> PolicyVersion {
        var copy = self
        copy.isActive = true
        return copy
    }
}
