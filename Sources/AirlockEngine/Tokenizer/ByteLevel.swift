/// GPT-2's reversible byte ↔ code point mapping: printable Latin-1 bytes map to themselves,
/// the rest to U+0100 onwards, so every byte sequence is a string of "visible" characters.
enum ByteLevel {
    static let byteToScalar: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 256)
        var next: UInt32 = 256
        for b in 0..<256 {
            if (33...126).contains(b) || (161...172).contains(b) || (174...255).contains(b) {
                table[b] = UInt32(b)
            } else {
                table[b] = next
                next += 1
            }
        }
        return table
    }()

    static let scalarToByte: [UInt32: UInt8] = {
        var map: [UInt32: UInt8] = [:]
        for (b, s) in byteToScalar.enumerated() { map[s] = UInt8(b) }
        return map
    }()

    /// Decodes a vocabulary entry back to raw bytes; nil if it is not byte-level text.
    static func bytes(ofTokenText text: String) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        for s in text.unicodeScalars {
            guard let b = scalarToByte[s.value] else { return nil }
            out.append(b)
        }
        return out
    }
}
