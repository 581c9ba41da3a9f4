import Crypto
import Foundation

/// One immutable stored version of a tenant's policy.
public struct PolicyVersion: Sendable, Hashable {
    public var tenantID: String
    /// 1, 2, 3 … per tenant.
    public var version: Int
    /// The policy's `name:` at the time it was applied.
    public var name: String
    /// Hex SHA-256 of `content`'s UTF-8 bytes.
    public var sha256: String
    public var appliedBy: String
    public var appliedAt: Date
    /// The YAML exactly as applied.
    public var content: String
    /// True when this is the tenant's active version.
    public var isActive: Bool

    public init(tenantID: String, version: Int, name: String, sha256: String, appliedBy: String, appliedAt: Date,
                content: String, isActive: Bool) {
        self.tenantID = tenantID
        self.version = version
        self.name = name
        self.sha256 = sha256
        self.appliedBy = appliedBy
        self.appliedAt = appliedAt
        self.content = content
        self.isActive = isActive
    }

    public static func sha256(of content: String) -> String {
        SHA256.hash(data: Data(content.utf8)).map { String(format: "%02x", $0) }.joined()
    }
}

/// What `PolicyRepository.apply` did.
public struct PolicyApplyResult: Sendable, Hashable {
    public enum Outcome: String, Sendable { case applied, unchanged }
    /// `unchanged` when the content equals the active version's (nothing stored, nobody notified).
    public var outcome: Outcome
    /// The version now active.
    public var version: PolicyVersion
}

/// What `PolicyRepository.rollback` did.
public struct PolicyRollbackResult: Sendable, Hashable {
    public enum Outcome: String, Sendable { case rolledBack = "rolled_back", unchanged }
    /// `unchanged` when the requested version was already active.
    public var outcome: Outcome
    /// The version active before the call (nil if the tenant had none).
    public var previousVersion: Int?
    /// The version now active.
    public var version: PolicyVersion
}
