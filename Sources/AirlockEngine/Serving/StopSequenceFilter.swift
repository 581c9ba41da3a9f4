/// Holds back generated text that could be the start of a stop sequence, and cuts the
/// output at the first complete stop sequence. Works on UTF-8 bytes; since stop strings
/// start with a lead byte, cuts always fall on code-point boundaries.
struct StopSequenceFilter {
    private let stops: [[UInt8]]
    private var held: [UInt8] = []

    init(_ stops: [String]) {
        self.stops = stops.map { Array($0.utf8) }.filter { !$0.isEmpty }
    }

    /// Returns the text that is safe to emit and whether a stop sequence was hit.
    mutating func push(_ text: String) -> (emit: String, stopped: Bool) {
        if stops.isEmpty { return (text, false) }
        held.append(contentsOf: text.utf8)
        var earliest: Int?
        for s in stops {
            if let i = Self.find(s, in: held), i < (earliest ?? Int.max) { earliest = i }
        }
        if let cut = earliest {
            let out = String(decoding: held[0..<cut], as: UTF8.self)
            held.removeAll()
            return (out, true)
        }
        var keep = 0
        for s in stops {
            var k = min(s.count - 1, held.count)
            while k > keep {
                if held[(held.count - k)...].elementsEqual(s[0..<k]) { keep = k; break }
                k -= 1
            }
        }
        let cut = held.count - keep
        let out = String(decoding: held[0..<cut], as: UTF8.self)
        held.removeFirst(cut)
        return (out, false)
    }

    /// The held-back text at the end of generation (no stop sequence completed).
    mutating func flush() -> String {
        defer { held.removeAll() }
        return String(decoding: held, as: UTF8.self)
    }

    static func find(_ needle: [UInt8], in hay: [UInt8]) -> Int? {
        guard needle.count <= hay.count else { return nil }
        for i in 0...(hay.count - needle.count) where hay[i] == needle[0] {
            if hay[i..<(i + needle.count)].elementsEqual(needle) { return i }
        }
        return nil
    }
}
