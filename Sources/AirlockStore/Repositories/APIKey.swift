import Foundation

/// A tenant's API key as listed: never its secret, only the short display prefix.
public struct APIKey: Sendable, Hashable {
    public var id: String
    public var tenantID: String
    /// First characters of the key (`ak_live_3fQz`), for recognising it.
    public var prefix: String
    public var name: String?
    public var createdAt: Date
    public var revokedAt: Date?

    public init(id: String, tenantID: String, prefix: String, name: String?, createdAt: Date, revokedAt: Date?) {
        self.id = id
        self.tenantID = tenantID
        self.prefix = prefix
        self.name = name
        self.createdAt = createdAt
        self.revokedAt = revokedAt
    }

    public var isRevoked: Bool { revokedAt != nil }
}

/// A freshly created key: the only moment its plaintext exists outside the caller's hands.
public struct IssuedAPIKey: Sendable {
    public var keyID: String
    public var tenantID: String
    /// Show once, then forget: only its SHA-256 is stored.
    public var plaintextKey: String
    public var prefix: String
}

/// Who a presented key belongs to and whether it may be used.
public struct AuthenticatedKey: Sendable, Hashable {
    public var tenantID: String
    public var keyID: String
    public var tenantDisabled: Bool
    public var revoked: Bool

    public init(tenantID: String, keyID: String, tenantDisabled: Bool, revoked: Bool) {
        self.tenantID = tenantID
        self.keyID = keyID
        self.tenantDisabled = tenantDisabled
        self.revoked = revoked
    }

    /// True when the key may make requests: not revoked and its tenant enabled.
    public var isUsable: Bool { !revoked && !tenantDisabled }
}
