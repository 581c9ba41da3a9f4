import Foundation
import Logging
import PostgresNIO

/// Tenants in PostgreSQL. Every statement binds its arguments.
public struct TenantRepository: Sendable {
    public let client: PostgresClient
    public let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// Creates a tenant; `tenantExists` when the id is taken.
    @discardableResult
    public func create(id: String, name: String) async throws -> Tenant {
        guard Tenant.isValidID(id) else {
            throw GovernanceError(.invalidArgument, "invalid tenant id (lower-case letters, digits, '_', '-'; at most 63, starting with a letter or digit)")
        }
        let name = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !name.isEmpty, name.count <= 200, !name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw GovernanceError(.invalidArgument, "tenant name must be 1-200 printable characters")
        }
        return try await client.governanceTransaction(logger: logger) { connection in
            let rows = try await connection.query("""
                INSERT INTO tenants (id, name) VALUES (\(id), \(name))
                ON CONFLICT (id) DO NOTHING RETURNING created_at
                """, logger: logger)
            var createdAt: Date?
            for try await date in rows.decode(Date.self) { createdAt = date }
            guard let createdAt else { throw GovernanceError(.tenantExists, "tenant '\(id)' already exists") }
            try await GovernanceChannel.keys.notify(id, on: connection, logger: logger)
            return Tenant(id: id, name: name, disabled: false, createdAt: createdAt, activePolicyVersion: nil)
        }
    }

    /// All tenants by id, with their active policy version.
    public func list() async throws -> [Tenant] {
        try await fetch(nil)
    }

    public func get(_ id: String) async throws -> Tenant? {
        try await fetch(id).first
    }

    /// Disables (`true`) or re-enables a tenant. Returns the tenant as it now is.
    @discardableResult
    public func setDisabled(_ id: String, _ disabled: Bool) async throws -> Tenant {
        try await client.governanceTransaction(logger: logger) { connection in
            let rows = try await connection.query(
                "UPDATE tenants SET disabled = \(disabled) WHERE id = \(id) RETURNING id", logger: logger)
            var found = false
            for try await _ in rows { found = true }
            guard found else { throw GovernanceError(.tenantNotFound, "tenant '\(id)' not found") }
            try await GovernanceChannel.keys.notify(id, on: connection, logger: logger)
        }
        guard let tenant = try await get(id) else { throw GovernanceError(.tenantNotFound, "tenant '\(id)' not found") }
        return tenant
    }

    @discardableResult
    public func disable(_ id: String) async throws -> Tenant { try await setDisabled(id, true) }
    @discardableResult
    public func enable(_ id: String) async throws -> Tenant { try await setDisabled(id, false) }

    private func fetch(_ id: String?) async throws -> [Tenant] {
        let rows = try await client.query("""
            SELECT t.id, t.name, t.disabled, t.created_at, v.version
            FROM tenants t
            LEFT JOIN tenant_policies tp ON tp.tenant_id = t.id
            LEFT JOIN policy_versions v ON v.id = tp.policy_version_id
            WHERE \(id)::text IS NULL OR t.id = \(id)
            ORDER BY t.id
            """, logger: logger)
        var tenants: [Tenant] = []
        for try await (tid, name, disabled, createdAt, version) in rows.decode((String, String, Bool, Date, Int?).self) {
            tenants.append(Tenant(id: tid, name: name, disabled: disabled, createdAt: createdAt, activePolicyVersion: version))
        }
        return tenants
    }
}
