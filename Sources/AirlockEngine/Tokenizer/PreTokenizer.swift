/// Splits text into the pieces BPE runs on, following the regular expressions of each
/// tokenizer family (as named by GGUF `tokenizer.ggml.pre`), implemented as hand-written
/// scanners over code points: no regex engine, no per-character allocation.
public enum PreTokenizer: String, Sendable, CaseIterable {
    /// GPT-2: `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
    case gpt2
    /// SmolLM / StarCoder: every digit on its own, then the GPT-2 pattern.
    case smollm
    /// Llama 3: case-insensitive contractions, `[^\r\n\p{L}\p{N}]?\p{L}+`, `\p{N}{1,3}`, …
    case llama3
    /// Qwen 2: the Llama 3 pattern with single digits.
    case qwen2
    /// DeepSeek V3: `\p{N}{1,3}`, runs of CJK/kana, then a punctuation-aware pattern.
    case deepseekV3 = "deepseek-v3"

    /// Maps GGUF `tokenizer.ggml.pre` names to a variant.
    public init?(ggufName: String) {
        switch ggufName {
        case "gpt2", "gpt-2", "default": self = .gpt2
        case "smollm", "starcoder", "refact", "codeshell": self = .smollm
        case "llama3", "llama-v3", "llama-bpe", "dbrx", "smaug-bpe": self = .llama3
        case "qwen2", "stablelm2", "hunyuan": self = .qwen2
        case "deepseek-v3", "deepseek3-llm": self = .deepseekV3
        default: return nil
        }
    }

    /// Pieces of `cpts` as half-open ranges, covering it completely and in order.
    func split(_ cpts: [UInt32]) -> [Range<Int>] {
        let whole = [0..<cpts.count]
        switch self {
        case .gpt2:
            return Self.apply(cpts, whole, Self.gpt2Piece)
        case .smollm:
            let digits = Self.matchSplit(cpts, whole) { c, p, end in
                UnicodeFlags.of(c[p]).contains(.number) ? p + 1 : nil
            }
            return Self.apply(cpts, digits, Self.gpt2Piece)
        case .llama3:
            return Self.apply(cpts, whole) { c, p, end in Self.llama3Piece(c, p, end, maxDigits: 3) }
        case .qwen2:
            return Self.apply(cpts, whole) { c, p, end in Self.llama3Piece(c, p, end, maxDigits: 1) }
        case .deepseekV3:
            let numbers = Self.matchSplit(cpts, whole) { c, p, end in
                guard UnicodeFlags.of(c[p]).contains(.number) else { return nil }
                var q = p
                while q < end && q - p < 3 && UnicodeFlags.of(c[q]).contains(.number) { q += 1 }
                return q
            }
            let cjk = Self.matchSplit(cpts, numbers) { c, p, end in
                guard Self.isCJKOrKana(c[p]) else { return nil }
                var q = p
                while q < end && Self.isCJKOrKana(c[q]) { q += 1 }
                return q
            }
            // Text no alternative matches (digits here) stays together as one piece, as with a regex split.
            return Self.matchSplit(cpts, cjk, Self.deepseekPiece)
        }
    }

    // MARK: driver helpers

    /// Runs a scanner that always consumes ≥1 code point over each range.
    static func apply(_ c: [UInt32], _ ranges: [Range<Int>],
                      _ piece: ([UInt32], Int, Int) -> Int) -> [Range<Int>] {
        var out: [Range<Int>] = []
        out.reserveCapacity(c.count / 3 + 1)
        for r in ranges {
            var p = r.lowerBound
            while p < r.upperBound {
                let q = max(p + 1, min(piece(c, p, r.upperBound), r.upperBound))
                out.append(p..<q)
                p = q
            }
        }
        return out
    }

    /// Regex-style split: each match becomes a piece and so does the text between matches.
    /// `match` returns the end of a match starting at p, or nil.
    static func matchSplit(_ c: [UInt32], _ ranges: [Range<Int>],
                           _ match: ([UInt32], Int, Int) -> Int?) -> [Range<Int>] {
        var out: [Range<Int>] = []
        for r in ranges {
            var gapStart = r.lowerBound
            var p = r.lowerBound
            while p < r.upperBound {
                if let q = match(c, p, r.upperBound), q > p {
                    if gapStart < p { out.append(gapStart..<p) }
                    out.append(p..<q)
                    p = q
                    gapStart = q
                } else {
                    p += 1
                }
            }
            if gapStart < r.upperBound { out.append(gapStart..<r.upperBound) }
        }
        return out
    }

    @inline(__always)
    static func flags(_ c: [UInt32], _ p: Int, _ end: Int) -> UnicodeFlags {
        p < end ? UnicodeFlags.of(c[p]) : []
    }

    @inline(__always)
    static func cpt(_ c: [UInt32], _ p: Int, _ end: Int) -> UInt32 {
        p < end ? c[p] : UInt32.max
    }

    static func isCJKOrKana(_ v: UInt32) -> Bool {
        (0x4E00...0x9FA5).contains(v) || (0x3040...0x309F).contains(v) || (0x30A0...0x30FF).contains(v)
    }

    static let apostrophe = UInt32(UInt8(ascii: "'"))
    static let cr: UInt32 = 13, lf: UInt32 = 10, space: UInt32 = 32

    @inline(__always)
    static func lower(_ v: UInt32) -> UInt32 { (65...90).contains(v) ? v + 32 : v }

    /// Length of a contraction at p ('s 't 'm 'd 're 've 'll), or 0.
    static func contraction(_ c: [UInt32], _ p: Int, _ end: Int, caseInsensitive: Bool) -> Int {
        guard c[p] == apostrophe, p + 1 < end else { return 0 }
        let n1 = caseInsensitive ? lower(c[p + 1]) : c[p + 1]
        if n1 == 115 || n1 == 116 || n1 == 109 || n1 == 100 { return 2 }  // s t m d
        guard p + 2 < end else { return 0 }
        let n2 = caseInsensitive ? lower(c[p + 2]) : c[p + 2]
        let pair = (n1, n2)
        if pair == (114, 101) || pair == (118, 101) || pair == (108, 108) { return 3 }  // re ve ll
        return 0
    }

    /// Whitespace handling shared by the patterns: `\s+(?!\S)` then `\s+`.
    @inline(__always)
    static func whitespaceRun(_ c: [UInt32], _ p: Int, _ end: Int) -> Int? {
        var n = 0
        while flags(c, p + n, end).contains(.whitespace) { n += 1 }
        if n > 1 && p + n < end { return p + n - 1 }
        if n > 0 { return p + n }
        return nil
    }

    // MARK: GPT-2

    static func gpt2Piece(_ c: [UInt32], _ p: Int, _ end: Int) -> Int {
        let k = contraction(c, p, end, caseInsensitive: false)
        if k > 0 { return p + k }
        let lead = c[p] == space ? 1 : 0
        let f2 = flags(c, p + lead, end)
        if f2.contains(.letter) {
            var q = p + lead
            while flags(c, q, end).contains(.letter) { q += 1 }
            return q
        }
        if f2.contains(.number) {
            var q = p + lead
            while flags(c, q, end).contains(.number) { q += 1 }
            return q
        }
        if !f2.isEmpty && f2.isDisjoint(with: [.whitespace, .letter, .number]) {
            var q = p + lead
            while true {
                let f = flags(c, q, end)
                if f.isEmpty || !f.isDisjoint(with: [.whitespace, .letter, .number]) { break }
                q += 1
            }
            return q
        }
        return whitespaceRun(c, p, end) ?? p + 1
    }

    // MARK: Llama 3 / Qwen 2

    static func llama3Piece(_ c: [UInt32], _ p: Int, _ end: Int, maxDigits: Int) -> Int {
        let k = contraction(c, p, end, caseInsensitive: true)
        if k > 0 { return p + k }
        let ch = c[p]
        let f = flags(c, p, end)
        // [^\r\n\p{L}\p{N}]?\p{L}+
        if !(ch == cr || ch == lf || f.contains(.number)) {
            if f.contains(.letter) || flags(c, p + 1, end).contains(.letter) {
                var q = p + 1
                while flags(c, q, end).contains(.letter) { q += 1 }
                return q
            }
        }
        // \p{N}{1,maxDigits}
        if f.contains(.number) {
            var q = p
            while q < end && q - p < maxDigits && flags(c, q, end).contains(.number) { q += 1 }
            return q
        }
        // <space>?[^\s\p{L}\p{N}]+[\r\n]*
        let lead = ch == space ? 1 : 0
        let f2 = flags(c, p + lead, end)
        if !f2.isEmpty && f2.isDisjoint(with: [.whitespace, .letter, .number]) {
            var q = p + lead
            while true {
                let fq = flags(c, q, end)
                if fq.isEmpty || !fq.isDisjoint(with: [.whitespace, .letter, .number]) { break }
                q += 1
            }
            while cpt(c, q, end) == cr || cpt(c, q, end) == lf { q += 1 }
            return q
        }
        // \s*[\r\n]+
        var n = 0
        var lastNewlineEnd = 0
        while flags(c, p + n, end).contains(.whitespace) {
            if c[p + n] == cr || c[p + n] == lf { lastNewlineEnd = p + n + 1 }
            n += 1
        }
        if lastNewlineEnd > 0 { return lastNewlineEnd }
        return whitespaceRun(c, p, end) ?? p + 1
    }

    // MARK: DeepSeek V3

    static func isASCIIPunct(_ v: UInt32) -> Bool {
        (33...47).contains(v) || (58...64).contains(v) || (91...96).contains(v) || (123...126).contains(v)
    }

    static func isASCIILetter(_ v: UInt32) -> Bool {
        (65...90).contains(v) || (97...122).contains(v)
    }

    static func deepseekPiece(_ c: [UInt32], _ p: Int, _ end: Int) -> Int? {
        let ch = c[p]
        // [!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+
        if isASCIIPunct(ch) && p + 1 < end && isASCIILetter(c[p + 1]) {
            var q = p + 1
            while q < end && isASCIILetter(c[q]) { q += 1 }
            return q
        }
        let f = flags(c, p, end)
        let letterOrMark: UnicodeFlags = [.letter, .mark]
        // [^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+
        if !f.isDisjoint(with: letterOrMark) {
            var q = p
            while !flags(c, q, end).isDisjoint(with: letterOrMark) { q += 1 }
            return q
        }
        if ch != cr && ch != lf && f.isDisjoint(with: [.letter, .punctuation, .symbol])
            && !flags(c, p + 1, end).isDisjoint(with: letterOrMark) {
            var q = p + 1
            while !flags(c, q, end).isDisjoint(with: letterOrMark) { q += 1 }
            return q
        }
        // ' ?[\p{P}\p{S}]+[\r\n]*'
        let punctOrSymbol: UnicodeFlags = [.punctuation, .symbol]
        let lead = ch == space ? 1 : 0
        if !flags(c, p + lead, end).isDisjoint(with: punctOrSymbol) {
            var q = p + lead
            while !flags(c, q, end).isDisjoint(with: punctOrSymbol) { q += 1 }
            while cpt(c, q, end) == cr || cpt(c, q, end) == lf { q += 1 }
            return q
        }
        // \s*[\r\n]+
        var n = 0
        var lastNewlineEnd = 0
        while flags(c, p + n, end).contains(.whitespace) {
            if c[p + n] == cr || c[p + n] == lf { lastNewlineEnd = p + n + 1 }
            n += 1
        }
        if lastNewlineEnd > 0 { return lastNewlineEnd }
        return whitespaceRun(c, p, end)
    }
}
