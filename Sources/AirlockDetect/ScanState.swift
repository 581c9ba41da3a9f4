import AirlockCore

/// One scan over one buffer: the byte loop, dispatch to recognisers, and the findings so far.
/// Recognisers live in `ScanState+*.swift`; each takes a start index and returns the index
/// where the main loop resumes (always past the start, so the scan is linear).
struct ScanState {
    let b: UnsafeBufferPointer<UInt8>
    let n: Int
    let scanner: Scanner
    let window: Int
    /// Held here so the hot path does not go through the global's lazy initialiser.
    let lex = NameLexicon.shared
    var out: [Finding] = []
    /// Scratch buffers reused across candidates so numbers do not allocate.
    var digits: [UInt8] = []
    var groups: [NumberGroup] = []
    /// Byte histogram for entropy; all zero between uses.
    var histogram = [Int](repeating: 0, count: 128)
    var negativeMemoStart = -1
    var negativeMemo = false
    /// How many groups `digits` currently covers.
    var digitsGroups = 0
    /// A failed search for "-----END" covered everything before this index.
    var noPEMEndBefore = 0

    init(bytes: UnsafeBufferPointer<UInt8>, scanner: Scanner) {
        self.b = bytes
        self.n = bytes.count
        self.scanner = scanner
        self.window = scanner.configuration.contextWindow
        digits.reserveCapacity(32)
        groups.reserveCapacity(12)
    }

    mutating func emit(_ type: EntityType, _ start: Int, _ end: Int, _ score: Double) {
        guard score >= scanner.configuration.minimumScore, end > start, scanner.isEnabled(type) else { return }
        // Spans always cover whole UTF-8 characters, so operators never split one.
        guard b[start] & 0xC0 != 0x80, end >= n || b[end] & 0xC0 != 0x80, end <= n else { return }
        out.append(Finding(type: type, start: start, end: end, score: min(1, score)))
    }

    /// Context words in the window before `start` (and a few bytes after `end`).
    func context(_ words: ContextWords, _ start: Int, _ end: Int, after: Int = 12) -> Bool {
        words.occurs(in: b, start - window, start) || (after > 0 && words.occurs(in: b, end, end + after))
    }

    /// Negative words ("order", "version", "订单"...) before `start`; numbers ask this for
    /// several candidate types at the same start, so the last answer is kept.
    mutating func negativeContext(_ start: Int) -> Bool {
        if start != negativeMemoStart {
            negativeMemoStart = start
            negativeMemo = ContextWords.negative.occurs(in: b, start - 28, start)
        }
        return negativeMemo
    }

    mutating func run() {
        let table = ByteClass.table
        table.withUnsafeBufferPointer { t in
            var i = 0
            while i < n {
                let c = t[Int(b[i])]
                if c == ByteClass.skip { i += 1; continue }
                let next: Int
                if c == ByteClass.word { next = word(at: i) }
                else if c == ByteClass.punct { next = punct(at: i) }
                else { next = nonASCII(at: i) }
                i = max(next, i + 1)
            }
        }
    }

    // MARK: dispatch

    mutating func word(at ws: Int) -> Int {
        var we = ws
        var allDigits = true, allHex = true
        while we < n, isWordByte(b[we]) {
            let c = b[we]
            if !isDigit(c) { allDigits = false; if !isHex(c) { allHex = false } }
            we += 1
        }
        // Glued to the end of a non-ASCII letter run (e.g. "전화010...") is fine; glued to a
        // previous ASCII word character cannot happen (we start at word starts).
        let f = b[ws]
        if allHex && we - ws <= 4 && we < n && (b[we] == UInt8(ascii: ":") || (b[we] == UInt8(ascii: "-") && we - ws == 2)) {
            if let e = hexColon(at: ws) { return e }
        }
        if isDigit(f) {
            if allDigits { return max(we, numeric(at: ws)) }
            return mixedDigitWord(ws, we)
        }
        return letterWord(ws, we)
    }

    mutating func punct(at i: Int) -> Int {
        switch b[i] {
        case UInt8(ascii: "@"): return email(at: i)
        case UInt8(ascii: ":"):
            if i + 2 < n, b[i + 1] == UInt8(ascii: "/"), b[i + 2] == UInt8(ascii: "/") { return url(colon: i) }
            if i + 1 < n, b[i + 1] == UInt8(ascii: ":"), i == 0 || !isHex(b[i - 1]) && b[i - 1] != UInt8(ascii: ":") {
                if let e = hexColon(at: i) { return e }
            }
            return i + 1
        case UInt8(ascii: "-"):
            if i + 10 < n, b[i + 1] == UInt8(ascii: "-"), b[i + 5] == UInt8(ascii: "B") { return pem(at: i) }
            return i + 1
        case UInt8(ascii: "+"), UInt8(ascii: "("):
            if i + 1 < n, isDigit(b[i + 1]), i == 0 || !isWordByte(b[i - 1]) { return numeric(at: i) }
            return i + 1
        default:
            return i + 1
        }
    }

    /// Digits mixed with letters: Base58 wallets, 0x addresses, CN IDs ending in X are handled
    /// by `numeric`; everything else (hashes, "1st", "3px") is skipped.
    mutating func mixedDigitWord(_ ws: Int, _ we: Int) -> Int {
        let len = we - ws
        if b[ws] == UInt8(ascii: "0"), len == 42, b[ws + 1] | 0x20 == UInt8(ascii: "x") {
            var ok = true
            for k in (ws + 2)..<we where !isHex(b[k]) { ok = false; break }
            if ok {
                let ctx = context(.crypto, ws, we)
                emit(.crypto, ws, we, ctx ? 0.9 : 0.7)
                return we
            }
        }
        if (b[ws] == UInt8(ascii: "1") || b[ws] == UInt8(ascii: "3")), (26...35).contains(len) {
            if Validators.base58CheckAddress(UnsafeBufferPointer(rebasing: b[ws..<we])) {
                emit(.crypto, ws, we, 0.95)
                return we
            }
        }
        // 17 digits + X: a CN resident ID whose check character is 10.
        if len == 18, b[we - 1] | 0x20 == UInt8(ascii: "x") {
            var ok = true
            for k in ws..<(we - 1) where !isDigit(b[k]) { ok = false; break }
            if ok { return max(we, numeric(at: ws)) }
        }
        return we
    }

    // MARK: helpers

    /// End of the run of bytes starting at `i` that satisfy `pred`.
    @inline(__always) func extent(from i: Int, limit: Int = Int.max, _ pred: (UInt8) -> Bool) -> Int {
        var j = i
        let stop = min(n, limit == Int.max ? n : i + limit)
        while j < stop, pred(b[j]) { j += 1 }
        return j
    }

    /// Case-sensitive ASCII literal at `i`.
    @inline(__always) func has(_ lit: StaticString, at i: Int) -> Bool {
        let c = lit.utf8CodeUnitCount
        guard i >= 0, i + c <= n else { return false }
        let p = lit.utf8Start
        for k in 0..<c where b[i + k] != p[k] { return false }
        return true
    }

    /// Case-insensitive ASCII literal (pattern given in lowercase) at `i`.
    @inline(__always) func hasFolded(_ lit: StaticString, at i: Int) -> Bool {
        let c = lit.utf8CodeUnitCount
        guard i >= 0, i + c <= n else { return false }
        let p = lit.utf8Start
        for k in 0..<c where lower(b[i + k]) != p[k] { return false }
        return true
    }

    /// The UTF-8 bytes of a 3-byte scalar at `i`, as one integer (0 when not a 3-byte lead).
    @inline(__always) func tri(_ i: Int) -> UInt32 {
        guard i >= 0, i + 2 < n, b[i] & 0xF0 == 0xE0 else { return 0 }
        return UInt32(b[i]) << 16 | UInt32(b[i + 1]) << 8 | UInt32(b[i + 2])
    }
}

/// One digit group of a number run, with the separator kind before it
/// (0 first group, ' ' space, 'p' parenthesis, else the punctuation byte).
struct NumberGroup {
    var start: Int
    var end: Int
    var sep: UInt8
    var count: Int { end - start }
}
