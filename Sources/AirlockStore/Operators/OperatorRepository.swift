import Crypto
import Foundation
import Logging
import PostgresNIO

/// Console operator tokens in PostgreSQL (`console_operators`): created by the CLI, stored as
/// SHA-256 hashes, looked up by hash at sign-in, revoked by id.
public struct OperatorRepository: Sendable {
    public let client: PostgresClient
    public let logger: Logger

    /// `aop_` + 43 base62 characters (≈ 256 bits).
    public static let tokenPrefix = "aop_"
    static let maximumPresentedLength = 256

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    public static func hash(token: String) -> Data { Data(SHA256.hash(data: Data(token.utf8))) }

    public func create(name: String, role: ConsoleOperator.Role) async throws -> IssuedOperatorToken {
        let name = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !name.isEmpty, name.count <= 200, !name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw GovernanceError(.invalidArgument, "operator name must be 1-200 printable characters")
        }
        let token = Self.tokenPrefix + APIKeyGenerator.base62(count: APIKeyGenerator.secretLength)
        let id = "op_" + APIKeyGenerator.base62(count: 12)
        let prefix = String(token.prefix(10))
        var created: Date?
        for try await at in try await client.query("""
            INSERT INTO console_operators (id, name, role, prefix, token_hash) VALUES (\(id), \(name), \(role.rawValue), \(prefix), \(Self.hash(token: token)))
            RETURNING created_at
            """, logger: logger).decode(Date.self) { created = at }
        guard let created else { throw GovernanceError(.invalidArgument, "operator was not stored") }
        logger.info("console operator created", metadata: ["operator_id": .string(id), "role": .string(role.rawValue)])
        return IssuedOperatorToken(operatorAccount: ConsoleOperator(id: id, name: name, role: role, prefix: prefix, createdAt: created), token: token)
    }

    /// Every operator, oldest first; never tokens.
    public func list() async throws -> [ConsoleOperator] {
        var out: [ConsoleOperator] = []
        for try await row in try await client.query("""
            SELECT id, name, role, prefix, created_at, revoked_at, last_sign_in_at FROM console_operators ORDER BY created_at, id
            """, logger: logger).decode((String, String, String, String, Date, Date?, Date?).self) {
            out.append(Self.make(row))
        }
        return out
    }

    /// Revokes an operator's token (idempotent); sessions it opened end at their next request.
    @discardableResult
    public func revoke(id: String) async throws -> ConsoleOperator {
        for try await row in try await client.query("""
            UPDATE console_operators SET revoked_at = coalesce(revoked_at, now()) WHERE id = \(id)
            RETURNING id, name, role, prefix, created_at, revoked_at, last_sign_in_at
            """, logger: logger).decode((String, String, String, String, Date, Date?, Date?).self) {
            return Self.make(row)
        }
        throw GovernanceError(.invalidArgument, "operator '\(id)' not found")
    }

    /// The active operator holding `token`, or nil (unknown or revoked). Records the sign-in time.
    public func authenticate(token: String) async throws -> ConsoleOperator? {
        guard token.hasPrefix(Self.tokenPrefix), token.utf8.count <= Self.maximumPresentedLength else { return nil }
        for try await row in try await client.query("""
            UPDATE console_operators SET last_sign_in_at = now() WHERE token_hash = \(Self.hash(token: token)) AND revoked_at IS NULL
            RETURNING id, name, role, prefix, created_at, revoked_at, last_sign_in_at
            """, logger: logger).decode((String, String, String, String, Date, Date?, Date?).self) {
            return Self.make(row)
        }
        return nil
    }

    /// The operator by id if still active (sessions re-check this so revocation takes effect).
    public func active(id: String) async throws -> ConsoleOperator? {
        for try await row in try await client.query("""
            SELECT id, name, role, prefix, created_at, revoked_at, last_sign_in_at FROM console_operators WHERE id = \(id) AND revoked_at IS NULL
            """, logger: logger).decode((String, String, String, String, Date, Date?, Date?).self) {
            return Self.make(row)
        }
        return nil
    }

    static func make(_ row: (String, String, String, String, Date, Date?, Date?)) -> ConsoleOperator {
        ConsoleOperator(id: row.0, name: row.1, role: ConsoleOperator.Role(rawValue: row.2) ?? .auditor, prefix: row.3,
                        createdAt: row.4, revokedAt: row.5, lastSignInAt: row.6)
    }
}
