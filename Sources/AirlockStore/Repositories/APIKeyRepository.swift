import Foundation
import Logging
import PostgresNIO

/// Tenant API keys in PostgreSQL: only SHA-256 hashes and display prefixes are stored.
public struct APIKeyRepository: Sendable {
    public let client: PostgresClient
    public let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// Creates a key for an existing tenant and returns its plaintext, which is not stored.
    public func create(tenant: String, name: String? = nil) async throws -> IssuedAPIKey {
        let name = name?.trimmingCharacters(in: .whitespacesAndNewlines)
        if let name, name.isEmpty || name.count > 200 || name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
            throw GovernanceError(.invalidArgument, "key name must be 1-200 printable characters")
        }
        let key = APIKeyGenerator.newKey()
        let issued = IssuedAPIKey(keyID: APIKeyGenerator.newKeyID(), tenantID: tenant, plaintextKey: key,
                                  prefix: APIKeyGenerator.displayPrefix(of: key))
        let hash = APIKeyHash(presentedKey: key).data
        try await client.governanceTransaction(logger: logger) { connection in
            // Inserting through a SELECT on tenants turns a missing tenant into "no row".
            let rows = try await connection.query("""
                INSERT INTO api_keys (id, tenant_id, prefix, key_hash, name)
                SELECT \(issued.keyID), t.id, \(issued.prefix), \(hash), \(name) FROM tenants t WHERE t.id = \(tenant)
                RETURNING id
                """, logger: logger)
            var inserted = false
            for try await _ in rows { inserted = true }
            guard inserted else { throw GovernanceError(.tenantNotFound, "tenant '\(tenant)' not found") }
            try await GovernanceChannel.keys.notify(tenant, on: connection, logger: logger)
        }
        logger.info("api key created", metadata: ["tenant": .string(tenant), "key_id": .string(issued.keyID)])
        return issued
    }

    /// Revokes a key (idempotent: an already revoked key keeps its original revocation time).
    @discardableResult
    public func revoke(keyID: String) async throws -> APIKey {
        try await client.governanceTransaction(logger: logger) { connection in
            let rows = try await connection.query("""
                UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE id = \(keyID)
                RETURNING id, tenant_id, prefix, name, created_at, revoked_at
                """, logger: logger)
            var revoked: APIKey?
            for try await row in rows.decode((String, String, String, String?, Date, Date?).self) { revoked = APIKey(row) }
            guard let revoked else { throw GovernanceError(.keyNotFound, "key '\(keyID)' not found") }
            try await GovernanceChannel.keys.notify(revoked.tenantID, on: connection, logger: logger)
            return revoked
        }
    }

    /// Keys of one tenant (all tenants when nil), oldest first; never secrets.
    public func list(tenant: String? = nil) async throws -> [APIKey] {
        let rows = try await client.query("""
            SELECT id, tenant_id, prefix, name, created_at, revoked_at FROM api_keys
            WHERE \(tenant)::text IS NULL OR tenant_id = \(tenant)
            ORDER BY tenant_id, created_at, id
            """, logger: logger)
        var keys: [APIKey] = []
        for try await row in rows.decode((String, String, String, String?, Date, Date?).self) { keys.append(APIKey(row)) }
        return keys
    }

    /// The key a client presented, looked up by its hash; nil for an unknown key. Revoked keys
    /// and keys of disabled tenants are returned flagged, so the caller can tell them apart.
    public func authenticate(presentedKey: String) async throws -> AuthenticatedKey? {
        guard !presentedKey.isEmpty, presentedKey.utf8.count <= APIKeyGenerator.maximumPresentedLength else { return nil }
        let hash = APIKeyHash(presentedKey: presentedKey).data
        let rows = try await client.query("""
            SELECT k.id, k.tenant_id, k.revoked_at IS NOT NULL, t.disabled
            FROM api_keys k JOIN tenants t ON t.id = k.tenant_id
            WHERE k.key_hash = \(hash)
            """, logger: logger)
        for try await (keyID, tenantID, revoked, disabled) in rows.decode((String, String, Bool, Bool).self) {
            return AuthenticatedKey(tenantID: tenantID, keyID: keyID, tenantDisabled: disabled, revoked: revoked)
        }
        return nil
    }
}

extension APIKey {
    init(_ row: (String, String, String, String?, Date, Date?)) {
        self.init(id: row.0, tenantID: row.1, prefix: row.2, name: row.3, createdAt: row.4, revokedAt: row.5)
    }
}
