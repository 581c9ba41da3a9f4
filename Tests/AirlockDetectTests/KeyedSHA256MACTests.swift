import AirlockCore
import CAirlockSHA256
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

/// The SHA-256 core under the fingerprints, against swift-crypto's `SHA256`: every message
/// length across the padding boundaries (55/56/64 bytes) and several blocks, on the CPU's SHA
/// instructions when it has them and on the portable rounds always.
@Suite("SHA-256 core")
struct SHA256CoreTests {
    static func message(_ length: Int, seed: UInt64) -> [UInt8] {
        var x = seed
        return (0..<length).map { _ in
            x = x &* 6364136223846793005 &+ 1442695040888963407
            return UInt8(truncatingIfNeeded: x >> 56)
        }
    }

    @Test("digest of every length 0–300 split into three parts equals SHA256.hash")
    func finishMatchesSwiftCrypto() {
        for length in 0...300 {
            let m = Self.message(length, seed: UInt64(length) + 1)
            let cuts = (length / 3, length - length / 5)
            var digest = [UInt8](repeating: 0, count: 32)
            m.withUnsafeBufferPointer { p in
                let base = p.baseAddress
                KeyedSHA256MAC.initialState.withUnsafeBufferPointer { state in
                    airlock_sha256_finish(state.baseAddress!, 0, base, cuts.0, base.map { $0 + cuts.0 }, cuts.1 - cuts.0,
                                          base.map { $0 + cuts.1 }, length - cuts.1, &digest)
                }
            }
            #expect(digest == Array(SHA256.hash(data: m)), "length \(length)")
        }
    }

    @Test("the accelerated and the portable compression agree, block by block")
    func bothPathsAgree() {
        let blocks = Self.message(64 * 40, seed: 7)
        var fast = KeyedSHA256MAC.initialState, portable = KeyedSHA256MAC.initialState
        for n in [1, 2, 3, 7, 27] {
            blocks.withUnsafeBufferPointer { p in
                airlock_sha256_blocks(&fast, p.baseAddress!, n)
                airlock_sha256_blocks_portable(&portable, p.baseAddress!, n)
            }
            #expect(fast == portable, "after \(n) more blocks (accelerated: \(airlock_sha256_accelerated()))")
        }
    }

    @Test("fingerprints of values of every length up to 200 equal HMAC<SHA256>")
    func fingerprintsOfEveryLength() {
        let key = Self.message(32, seed: 99)
        let ops = Operators(hashKey: key)
        for length in 0...200 {
            let value = String(decoding: Self.message(length, seed: UInt64(length) + 500).map { 0x21 + $0 % 90 }, as: UTF8.self)
            let message = Array("\(EntityType.emailAddress.rawValue):\(value)".utf8)
            #expect(ops.fingerprint(value, type: .emailAddress) == KeyedSHA256MACTests.reference(key: key, message: message))
        }
    }
}
