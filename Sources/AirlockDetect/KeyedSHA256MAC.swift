import CAirlockSHA256
import Crypto

/// HMAC-SHA256 (RFC 2104) with the key already absorbed into the inner and outer SHA-256
/// states, so a fingerprint costs two short hash finalisations and nothing else.
///
/// swift-crypto's `HMAC<H>` gives the same bytes but went through generic witness tables and
/// array copies per finding (a third of pseudonymization in an earlier profile). Its concrete
/// `SHA256` fixed that, yet its state is a heap object copied on write: each fingerprint still
/// made two allocations, about 1.1 µs a finding (28 µs for the benchmark prompt's 25 in
/// `airlock scan bench` on a slow hour; 6.7 µs now, against 16.2 in the same minute).
/// The prepared states are now eight plain words each, finished by `CAirlockSHA256` (with the
/// CPU's SHA instructions where it has them). `KeyedSHA256MACTests` checks it against
/// `HMAC<SHA256>`.
struct KeyedSHA256MAC: Sendable {
    /// SHA-256 after the key's inner and outer padded blocks: one block each.
    private let inner: [UInt32]
    private let outer: [UInt32]

    static let initialState: [UInt32] = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                         0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]

    init(key: [UInt8]) {
        let blockSize = 64
        // Keys longer than a block are hashed first; shorter ones are zero-padded.
        var block = key.count > blockSize ? Array(SHA256.hash(data: key)) : key
        block += [UInt8](repeating: 0, count: blockSize - block.count)
        func absorbed(_ pad: UInt8) -> [UInt32] {
            var state = Self.initialState
            let padded = block.map { $0 ^ pad }
            airlock_sha256_blocks(&state, padded, 1)
            return state
        }
        inner = absorbed(0x36)
        outer = absorbed(0x5c)
    }

    /// Lowercase hex of HMAC(key, the three parts concatenated). A fixed number of parts, not
    /// a variadic list: that allocated an array for every fingerprint.
    func hexDigest(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer, _ c: UnsafeRawBufferPointer) -> String {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 64) { digests in
            let innerDigest = digests.baseAddress!, outerDigest = innerDigest + 32
            inner.withUnsafeBufferPointer { state in
                airlock_sha256_finish(state.baseAddress!, 1, Self.bytes(a), a.count, Self.bytes(b), b.count,
                                      Self.bytes(c), c.count, innerDigest)
            }
            outer.withUnsafeBufferPointer { state in
                airlock_sha256_finish(state.baseAddress!, 1, innerDigest, 32, nil, 0, nil, 0, outerDigest)
            }
            return KeyedSHA256MAC.hex(UnsafeRawBufferPointer(start: outerDigest, count: 32))
        }
    }

    private static func bytes(_ buffer: UnsafeRawBufferPointer) -> UnsafePointer<UInt8>? {
        buffer.baseAddress?.assumingMemoryBound(to: UInt8.self)
    }

    static func hex(_ bytes: UnsafeRawBufferPointer) -> String {
        String(unsafeUninitializedCapacity: bytes.count * 2) { out in
            let digits: StaticString = "0123456789abcdef"
            let table = digits.utf8Start
            for (i, b) in bytes.enumerated() {
                out[2 * i] = table[Int(b >> 4)]
                out[2 * i + 1] = table[Int(b & 15)]
            }
            return bytes.count * 2
        }
    }
}
