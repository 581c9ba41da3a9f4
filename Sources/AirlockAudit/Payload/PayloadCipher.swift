import AirlockCore
import Crypto
import Foundation

/// AES-256-GCM for captured prompt/answer bodies. Each box is bound to its event (tenant,
/// chain, sequence, part) through the additional authenticated data, so a ciphertext moved
/// to another row fails to open.
public struct PayloadCipher: Sendable {
    let auditKey: AuditKey
    var key: SymmetricKey { auditKey.symmetric }
    /// Fingerprint stored beside each row, so an operator can tell which key sealed it.
    public var keyID: String { auditKey.fingerprint }

    public init(key: AuditKey) { self.auditKey = key }

    public enum Part: String, Sendable { case request, response }

    func aad(tenantID: String, chainID: String, seq: Int64, part: Part) -> [UInt8] {
        Array("airlock-payload-v1|\(tenantID)|\(chainID)|\(seq)|\(part.rawValue)".utf8)
    }

    func seal(_ plaintext: [UInt8], tenantID: String, chainID: String, seq: Int64, part: Part) throws -> [UInt8] {
        let box = try AES.GCM.seal(plaintext, using: key, authenticating: aad(tenantID: tenantID, chainID: chainID, seq: seq, part: part))
        return Array(box.combined!)  // the default 12-byte nonce always yields `combined`
    }

    func open(_ combined: [UInt8], tenantID: String, chainID: String, seq: Int64, part: Part) throws(AirlockError) -> [UInt8] {
        do {
            let box = try AES.GCM.SealedBox(combined: combined)
            return Array(try AES.GCM.open(box, using: key, authenticating: aad(tenantID: tenantID, chainID: chainID, seq: seq, part: part)))
        } catch {
            throw AirlockError(.invalidRequest, "payload cannot be decrypted with this key (wrong key or altered ciphertext)")
        }
    }
}

/// A 256-bit key for payload encryption or checkpoint signing. Keys come from environment
/// variables (never files or logs), as 64 hex digits or base64 of 32 bytes.
public struct AuditKey: Sendable, Equatable, CustomStringConvertible {
    let bytes: [UInt8]

    public init(bytes: [UInt8]) { self.bytes = bytes }

    public init(encoded text: String, purpose: String = "audit") throws(AirlockError) {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.count == 64, let bytes = Hex.decode(trimmed) { self.bytes = bytes; return }
        if let data = Data(base64Encoded: trimmed), data.count >= 32 { self.bytes = Array(data.prefix(32)); return }
        throw AirlockError(.invalidRequest, "\(purpose) key must be 64 hex digits or base64 of 32 bytes")
    }

    /// The key in env var `name`; nil when the variable is unset or empty.
    public static func fromEnvironment(_ name: String, purpose: String,
                                       environment: [String: String] = ProcessInfo.processInfo.environment) throws(AirlockError) -> AuditKey? {
        guard let text = environment[name], !text.isEmpty else { return nil }
        return try AuditKey(encoded: text, purpose: "\(purpose) key in \(name)")
    }

    /// A fresh random key, hex encoded (for `airlock audit keygen`-style setup and tests).
    public static func generateHex() -> String { Hex.encode(SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) }) }

    var symmetric: SymmetricKey { SymmetricKey(data: bytes) }

    /// Short public fingerprint (first 8 bytes of SHA-256), safe to store and print.
    public var fingerprint: String { Hex.encode(Array(SHA256.hash(data: bytes)).prefix(8)) }

    /// Never prints the key.
    public var description: String { "AuditKey(\(fingerprint))" }
}
