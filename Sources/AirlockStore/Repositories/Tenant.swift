import Foundation

/// An organisation (or team) whose applications call the gateway with their own keys and
/// policy.
public struct Tenant: Sendable, Hashable {
    /// Slug: `[a-z0-9][a-z0-9_-]{0,62}` (the database enforces the same).
    public var id: String
    public var name: String
    /// A disabled tenant's keys stop authenticating (the gateway answers 401/403).
    public var disabled: Bool
    public var createdAt: Date
    /// Version number of the active policy; nil until one is applied.
    public var activePolicyVersion: Int?

    public init(id: String, name: String, disabled: Bool, createdAt: Date, activePolicyVersion: Int?) {
        self.id = id
        self.name = name
        self.disabled = disabled
        self.createdAt = createdAt
        self.activePolicyVersion = activePolicyVersion
    }

    /// Same rule as the `tenants.id` CHECK constraint, so callers get a readable error
    /// instead of a constraint violation.
    public static func isValidID(_ id: String) -> Bool {
        let bytes = Array(id.utf8)
        func lowerAlnum(_ b: UInt8) -> Bool { (b >= 0x61 && b <= 0x7A) || (b >= 0x30 && b <= 0x39) }
        guard let first = bytes.first, lowerAlnum(first), bytes.count <= 63 else { return false }
        return bytes.allSatisfy { lowerAlnum($0) || $0 == 0x5F || $0 == 0x2D }
    }
}
