import AirlockAudit
import AirlockStore
import Foundation
import PostgresNIO

/// What the web console needs beyond the gateway's services: the database it reads and the
/// audit keys (checkpoint key to sign and verify chains, payload key to decrypt captured
/// bodies for admins). Set by `airlock serve`; without it `/console` answers 404.
public struct ConsoleDependencies: Sendable {
    public let pool: RenewablePool
    public let checkpointKey: AuditKey?
    public let payloadKey: AuditKey?
    /// Mark cookies `Secure` even without `x-forwarded-proto: https` (behind a TLS proxy that
    /// does not send it). `AIRLOCK_CONSOLE_SECURE_COOKIES=1`.
    public let alwaysSecureCookies: Bool
    /// The overview reads rollups (`AuditRollupReader`); `AIRLOCK_CONSOLE_ROLLUPS=off` makes it
    /// aggregate `audit_events` only (same numbers, slower; for comparison and as a way out).
    public let useRollups: Bool

    /// The pool to read from now (it may have been renewed since the console started).
    public var client: PostgresClient { pool.client }

    public init(pool: RenewablePool, checkpointKey: AuditKey?, payloadKey: AuditKey?, environment: [String: String]) {
        self.pool = pool
        self.checkpointKey = checkpointKey
        self.payloadKey = payloadKey
        let flag = environment["AIRLOCK_CONSOLE_SECURE_COOKIES"]?.lowercased()
        self.alwaysSecureCookies = flag == "1" || flag == "true"
        self.useRollups = !["off", "0", "false"].contains(environment["AIRLOCK_CONSOLE_ROLLUPS"]?.lowercased() ?? "")
    }
}
