import Foundation

/// A person (or service account) who signs in to the web console with an operator token.
public struct ConsoleOperator: Sendable, Equatable {
    /// `auditor` reads audit, reports and verification; `admin` also manages policies, keys,
    /// providers and legal holds, and may decrypt captured payloads.
    public enum Role: String, Sendable, CaseIterable {
        case auditor
        case admin
    }

    public var id: String
    public var name: String
    public var role: Role
    /// First characters of the token, shown in listings so an operator can recognise it.
    public var prefix: String
    public var createdAt: Date
    public var revokedAt: Date?
    public var lastSignInAt: Date?

    public init(id: String, name: String, role: Role, prefix: String, createdAt: Date, revokedAt: Date? = nil, lastSignInAt: Date? = nil) {
        self.id = id
        self.name = name
        self.role = role
        self.prefix = prefix
        self.createdAt = createdAt
        self.revokedAt = revokedAt
        self.lastSignInAt = lastSignInAt
    }

    public var isAdmin: Bool { role == .admin }
}

/// A newly created operator and its token, which exists only here: the database holds its hash.
public struct IssuedOperatorToken: Sendable {
    public let operatorAccount: ConsoleOperator
    public let token: String
}
