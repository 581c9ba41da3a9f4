import Crypto
import Foundation

/// HMAC-SHA256 with the checkpoint key from configuration: signs chain heads, checkpoints
/// and redactions, so someone with write access to the database but not the key cannot
/// truncate a chain, forge an anchor, or pass off a deletion as retention.
public struct ChainSigner: Sendable {
    let key: AuditKey
    public init(key: AuditKey) { self.key = key }

    func mac(_ parts: [String]) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: Array(parts.joined(separator: "|").utf8), using: key.symmetric))
    }

    func headMAC(chainID: String, seq: Int64, hash: [UInt8]) -> [UInt8] {
        mac(["head", chainID, String(seq), Hex.encode(hash)])
    }

    func checkpointMAC(chainID: String, seq: Int64, fromSeq: Int64?, hash: [UInt8]) -> [UInt8] {
        mac(["checkpoint", chainID, String(seq), fromSeq.map(String.init) ?? "-", Hex.encode(hash)])
    }

    func redactionMAC(chainID: String, seq: Int64, contentDigest: [UInt8]) -> [UInt8] {
        mac(["redaction", chainID, String(seq), Hex.encode(contentDigest)])
    }

    static func equal(_ a: [UInt8]?, _ b: [UInt8]) -> Bool {
        guard let a, a.count == b.count else { return false }
        var diff: UInt8 = 0
        for i in 0..<a.count { diff |= a[i] ^ b[i] }
        return diff == 0
    }
}
