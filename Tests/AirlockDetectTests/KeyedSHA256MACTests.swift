import AirlockCore
import Crypto
import Testing
@testable import AirlockDetect

/// The fingerprint's own HMAC must give exactly what swift-crypto's `HMAC<SHA256>` gives:
/// audit rows written before and after must stay comparable.
@Suite("Keyed SHA-256 MAC")
struct KeyedSHA256MACTests {
    static func reference(key: [UInt8], message: [UInt8]) -> String {
        HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: key))
            .map { String(format: "%02x", $0) }.joined()
    }

    @Test("same bytes as HMAC<SHA256> for keys shorter than, equal to and longer than a block",
          arguments: [0, 1, 16, 32, 63, 64, 65, 100, 200])
    func matchesSwiftCrypto(keyLength: Int) {
        let key = (0..<keyLength).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
        let ops = Operators(hashKey: key)
        let values = ["", "jane.doe@example.com", "900101-1234561", "김민준 😀", String(repeating: "x", count: 300)]
        for value in values {
            for type in [EntityType.emailAddress, .krRRN, .person] {
                let message = Array("\(type.rawValue):\(value)".utf8)
                #expect(ops.fingerprint(value, type: type) == Self.reference(key: key, message: message))
            }
        }
    }

    @Test func hexIsLowercaseTwoDigitsPerByte() {
        let bytes: [UInt8] = [0x00, 0x0f, 0xa0, 0xff, 0x5c]
        #expect(bytes.withUnsafeBytes { KeyedSHA256MAC.hex($0) } == "000fa0ff5c")
    }
}
