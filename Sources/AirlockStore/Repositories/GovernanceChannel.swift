import Logging
import PostgresNIO

/// The LISTEN/NOTIFY channels through which gateway instances learn that governance data
/// changed. Notifications are sent inside the changing transaction, so PostgreSQL delivers
/// them only once it commits (and never for a rolled-back change).
public enum GovernanceChannel: String, Sendable, CaseIterable {
    /// Payload: the tenant id whose active policy moved (apply, rollback).
    case policy = "airlock_policy"
    /// Payload: the tenant id whose keys or enabled state changed (create/revoke key,
    /// disable/enable tenant, new tenant).
    case keys = "airlock_keys"
    /// Payload: the provider name that changed, or `*` after an import.
    case providers = "airlock_providers"

    /// Queues a notification in the current transaction; the payload is bound, never spliced.
    func notify(_ payload: String, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query("SELECT pg_notify(\(rawValue), \(payload))", logger: logger)
    }
}
