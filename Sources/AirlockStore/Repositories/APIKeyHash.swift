import Crypto
import Foundation

/// SHA-256 of a presented API key: all the database (and a gateway's snapshot) ever holds.
/// Looking a key up by its hash means no secret is ever compared byte by byte, so response
/// timing cannot reveal how much of a guessed key was right.
public struct APIKeyHash: Sendable, Hashable, CustomStringConvertible {
    public let bytes: [UInt8]

    public init(bytes: [UInt8]) { self.bytes = bytes }

    public init(presentedKey: String) {
        // Hashed straight from the string's UTF-8 storage: this runs for every call, and the
        // `Data` copy and the digest's generic sequence copy showed in every call's profile.
        var key = presentedKey
        self.bytes = key.withUTF8 { utf8 in
            SHA256.hash(data: UnsafeRawBufferPointer(utf8)).withUnsafeBytes { Array($0) }
        }
    }

    var data: Data { Data(bytes) }

    /// Hex; the hash is not a secret, but nothing prints it by default either.
    public var description: String { bytes.map { String(format: "%02x", $0) }.joined() }
}
