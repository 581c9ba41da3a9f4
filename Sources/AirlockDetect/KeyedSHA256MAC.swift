import Crypto

/// HMAC-SHA256 (RFC 2104) with the key already absorbed into the inner and outer SHA-256
/// states, so a fingerprint costs two short hash finalisations and nothing else.
///
/// swift-crypto's `HMAC<H>` gives the same bytes, but it is generic over the hash function and
/// not specialisable from this module: per finding its `update`/`finalize` went through
/// witness tables and array copies that cost more than the hashing (a third of
/// pseudonymization in a profile of the personal-data benchmark prompt). `SHA256` is a concrete
/// type, so these calls are direct. `KeyedSHA256MACTests` checks it against `HMAC<SHA256>`.
///
/// `SHA256` is a plain value (the hash state, no references) that swift-crypto does not mark
/// Sendable; the prepared states are only ever copied, never shared mutably.
struct KeyedSHA256MAC: @unchecked Sendable {
    private let inner: SHA256
    private let outer: SHA256

    init(key: [UInt8]) {
        let blockSize = 64
        // Keys longer than a block are hashed first; shorter ones are zero-padded.
        var block = key.count > blockSize ? Array(SHA256.hash(data: key)) : key
        block += [UInt8](repeating: 0, count: blockSize - block.count)
        var inner = SHA256()
        var outer = SHA256()
        let innerPad = block.map { $0 ^ 0x36 }
        let outerPad = block.map { $0 ^ 0x5c }
        innerPad.withUnsafeBytes { inner.update(bufferPointer: $0) }
        outerPad.withUnsafeBytes { outer.update(bufferPointer: $0) }
        self.inner = inner
        self.outer = outer
    }

    /// Lowercase hex of HMAC(key, the three parts concatenated). A fixed number of parts, not
    /// a variadic list: that allocated an array for every fingerprint.
    func hexDigest(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer, _ c: UnsafeRawBufferPointer) -> String {
        var inner = self.inner
        inner.update(bufferPointer: a)
        inner.update(bufferPointer: b)
        inner.update(bufferPointer: c)
        var outer = self.outer
        inner.finalize().withUnsafeBytes { outer.update(bufferPointer: $0) }
        return outer.finalize().withUnsafeBytes { KeyedSHA256MAC.hex($0) }
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
