import Crypto
import Foundation

/// SHA-256 of a presented API key: all the database (and a gateway's snapshot) ever holds.
/// Looking a key up by its hash means no secret is ever compared byte by byte, so response
/// timing cannot reveal how much of a guessed key was right.
public struct APIKeyHash: Sendable, Hashable, CustomStringConvertible {
    public let bytes: [UInt8]

    public init(bytes: [UInt8]) { self.bytes = bytes }

    public init(presentedKey: String) {
        self.bytes = Array(SHA256.hash(data: Data(presentedKey.utf8)))
    }

    var data: Data { Data(bytes) }

    /// Hex; the hash is not a secret, but nothing prints it by default either.
    public var description: String { bytes.map { String(format: "%02x", $0) }.joined() }
}
