/// Turns a stream of token bytes into text deltas that never split a code point: bytes of
/// an incomplete sequence are held back until the rest arrives. Invalid bytes are replaced
/// with U+FFFD once it is certain they cannot complete.
struct UTF8StreamDecoder {
    private var pending: [UInt8] = []

    /// Appends bytes and returns the longest complete prefix as a string ("" if none).
    mutating func append(_ bytes: [UInt8]) -> String {
        pending.append(contentsOf: bytes)
        let cut = completePrefixLength(pending)
        guard cut > 0 else { return "" }
        let s = String(decoding: pending[0..<cut], as: UTF8.self)
        pending.removeFirst(cut)
        return s
    }

    /// Whatever is left at the end of the stream (repaired).
    mutating func flush() -> String {
        defer { pending.removeAll() }
        return pending.isEmpty ? "" : String(decoding: pending, as: UTF8.self)
    }

    /// Length of the prefix that ends on a code-point boundary: only a trailing, still
    /// possibly valid, incomplete sequence is held back.
    private func completePrefixLength(_ b: [UInt8]) -> Int {
        let n = b.count
        var i = n - 1
        var back = 0
        while i >= 0 && back < 3 && b[i] & 0xC0 == 0x80 { i -= 1; back += 1 }
        guard i >= 0 else { return n }
        let lead = b[i]
        let need: Int
        switch lead {
        case 0xC2...0xDF: need = 2
        case 0xE0...0xEF: need = 3
        case 0xF0...0xF4: need = 4
        default: return n
        }
        return n - i < need ? i : n
    }
}
