/// A model-name pattern where `*` matches any run of characters (`gpt-4*`, `*-mini`).
/// Compiled once; matching walks UTF-8 bytes without allocating.
struct ModelPattern: Sendable, Hashable {
    /// The pieces between stars; `anchoredStart`/`anchoredEnd` when the pattern does not
    /// begin/end with a star.
    private let parts: [[UInt8]]
    private let anchoredStart: Bool
    private let anchoredEnd: Bool

    init(_ pattern: String) {
        let bytes = Array(pattern.utf8)
        parts = bytes.split(separator: UInt8(ascii: "*"), omittingEmptySubsequences: false).map(Array.init)
        anchoredStart = bytes.first != UInt8(ascii: "*")
        anchoredEnd = bytes.last != UInt8(ascii: "*")
    }

    func matches(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { matches(bytes: $0) }
    }

    private func matches(bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        if parts.count == 1 { return bytes.elementsEqual(parts[0]) }
        var pos = 0
        var end = bytes.count
        let first = parts[0], last = parts[parts.count - 1]
        if anchoredStart {
            guard bytes.count >= first.count, bytes[0..<first.count].elementsEqual(first) else { return false }
            pos = first.count
        }
        if anchoredEnd {
            guard end - pos >= last.count, bytes[(end - last.count)..<end].elementsEqual(last) else { return false }
            end -= last.count
        }
        // Middle pieces, leftmost first (greedy leftmost is correct for `*`-only globs).
        for part in parts.dropFirst().dropLast() where !part.isEmpty {
            guard let found = ModelPattern.find(part, in: bytes, from: pos, to: end) else { return false }
            pos = found + part.count
        }
        return pos <= end
    }

    private static func find(_ needle: [UInt8], in hay: UnsafeBufferPointer<UInt8>, from: Int, to: Int) -> Int? {
        guard to - from >= needle.count else { return nil }
        var i = from
        while i + needle.count <= to {
            if hay[i..<(i + needle.count)].elementsEqual(needle) { return i }
            i += 1
        }
        return nil
    }
}
