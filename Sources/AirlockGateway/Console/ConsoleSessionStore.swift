import AirlockStore
import Crypto
import Foundation
import Synchronization

/// A signed-in operator's session.
struct ConsoleSession: Sendable, Equatable {
    var operatorID: String
    var operatorName: String
    var role: ConsoleOperator.Role
    /// Sent in every form as `_csrf` and compared with this value on every POST.
    var csrfToken: String
    var createdAt: Date
    var lastSeen: Date
    var isAdmin: Bool { role == .admin }
}

/// Sessions in memory, keyed by the SHA-256 of the session id, so a memory dump or a log of
/// this map does not hold usable cookies. Ids are 256 random bits; a session ends after
/// `idleTimeout` without requests or `absoluteTimeout` after sign-in, at sign-out, or when
/// the operator is revoked (checked on each request). A restart signs everyone out.
final class ConsoleSessionStore: Sendable {
    let idleTimeout: TimeInterval
    let absoluteTimeout: TimeInterval
    let maximumSessions: Int
    private let sessions = Mutex<[String: ConsoleSession]>([:])

    init(idleTimeout: TimeInterval = 30 * 60, absoluteTimeout: TimeInterval = 12 * 3600, maximumSessions: Int = 10_000) {
        self.idleTimeout = idleTimeout
        self.absoluteTimeout = absoluteTimeout
        self.maximumSessions = maximumSessions
    }

    /// 32 bytes from the system's cryptographic source, hex (64 characters).
    static func randomToken() -> String {
        var rng = SystemRandomNumberGenerator()
        var out = ""
        out.reserveCapacity(64)
        for _ in 0..<4 {
            let word = rng.next() as UInt64
            let hex = String(word, radix: 16)
            out += String(repeating: "0", count: 16 - hex.count) + hex
        }
        return out
    }

    static func key(_ sessionID: String) -> String {
        SHA256.hash(data: Data(sessionID.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// Opens a session; returns its id (for the cookie) and the session.
    func create(operatorAccount o: ConsoleOperator, now: Date = Date()) -> (id: String, session: ConsoleSession) {
        let id = Self.randomToken()
        let session = ConsoleSession(operatorID: o.id, operatorName: o.name, role: o.role, csrfToken: Self.randomToken(),
                                     createdAt: now, lastSeen: now)
        sessions.withLock { map in
            if map.count >= maximumSessions { map = map.filter { !isExpired($0.value, now: now) } }
            if map.count >= maximumSessions, let oldest = map.min(by: { $0.value.lastSeen < $1.value.lastSeen }) { map[oldest.key] = nil }
            map[Self.key(id)] = session
        }
        return (id, session)
    }

    /// The live session for a cookie value, touched; nil when unknown or expired.
    func lookup(_ sessionID: String, now: Date = Date()) -> ConsoleSession? {
        guard sessionID.utf8.count == 64 else { return nil }
        let key = Self.key(sessionID)
        return sessions.withLock { map in
            guard var s = map[key] else { return nil }
            if isExpired(s, now: now) { map[key] = nil; return nil }
            s.lastSeen = now
            map[key] = s
            return s
        }
    }

    func remove(_ sessionID: String) {
        let key = Self.key(sessionID)
        _ = sessions.withLock { $0.removeValue(forKey: key) }
    }

    /// Ends every session of an operator (revoked token).
    func removeAll(operatorID: String) {
        sessions.withLock { map in map = map.filter { $0.value.operatorID != operatorID } }
    }

    var count: Int { sessions.withLock { $0.count } }

    private func isExpired(_ s: ConsoleSession, now: Date) -> Bool {
        now.timeIntervalSince(s.lastSeen) > idleTimeout || now.timeIntervalSince(s.createdAt) > absoluteTimeout
    }

    /// Constant-time comparison of a presented token with the expected one.
    static func tokensEqual(_ presented: String?, _ expected: String) -> Bool {
        guard let presented else { return false }
        let a = Array(presented.utf8), b = Array(expected.utf8)
        guard a.count == b.count else { return false }
        var diff: UInt8 = 0
        for i in 0..<a.count { diff |= a[i] ^ b[i] }
        return diff == 0
    }
}
