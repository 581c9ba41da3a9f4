import AirlockCore

/// Scans a streamed answer and rewrites what the policy forbids (e.g. a key the model
/// produced) before it reaches the client. Like the restorer it holds back only the tail that
/// could still grow into a finding: the unfinished last token and, when that token is part of
/// a number or a capitalised name, the few tokens before it joined by single separators.
public struct StreamOutputGuard: Sendable {
    let scanner: Scanner
    let operators: Operators
    let actions: @Sendable (EntityType) -> Action
    var pending: [UInt8] = []
    /// The last bytes already emitted, scanned again only for context words.
    var context: [UInt8] = []
    /// Findings seen so far (types, actions, and fingerprints of the values the guard
    /// rewrote; never values).
    public private(set) var applied: [Operators.Applied] = []

    static let contextKeep = 64
    static let maxHold = 4096
    static let maxHoldPEM = 65536

    /// `actions` are the policy's actions for input; `Action.forOutput` is applied on top.
    public init(scanner: Scanner, operators: Operators, actions: @escaping @Sendable (EntityType) -> Action) {
        self.scanner = scanner
        self.operators = operators
        self.actions = actions
    }

    public var heldBackCount: Int { pending.count }

    public mutating func feed(_ text: String) -> String {
        pending.append(contentsOf: text.utf8)
        return drain(atEnd: false)
    }

    public mutating func finish() -> String { drain(atEnd: true) }

    /// A complete text rather than a stream: scanned once, nothing held back (`feed` then
    /// `finish` would scan most of it twice).
    public mutating func whole(_ text: String) -> String {
        pending.append(contentsOf: text.utf8)
        return drain(atEnd: true)
    }

    /// Where the safe-to-emit prefix of `pending` ends.
    func boundary() -> Int {
        let b = pending
        let n = b.count
        var e = n
        // The open token: everything after the last whitespace.
        while e > 0, !isSpace(b[e - 1]) { e -= 1 }
        if n - e > 48 {
            var nonASCII = false
            for k in e..<n where b[k] >= 0x80 { nonASCII = true; break }
            if nonASCII {
                // Scripts without spaces: hold a bounded tail, cut at a character start.
                var cut = n - 48
                while cut > e, b[cut] & 0xC0 == 0x80 { cut -= 1 }
                e = cut
            }
        }
        // Tokens joined by one separator to a number or a capitalised word may belong together.
        var steps = 0
        while e >= 2, steps < 6, b[e - 1] == 0x20 || b[e - 1] == 0x0A, !isSpace(b[e - 2]) {
            let tokEnd = e - 1
            var s = tokEnd
            while s > 0, !isSpace(b[s - 1]) { s -= 1 }
            let first = b[s]
            let joinable = isDigit(b[tokEnd - 1]) || isDigit(first) || first == UInt8(ascii: "+") || first == UInt8(ascii: "(") || isUpper(first)
                || b[tokEnd - 1] == UInt8(ascii: ",") && isUpper(first) || first >= 0xEA && first <= 0xED
            guard joinable, tokEnd - s <= 64 else { break }
            e = s
            steps += 1
        }
        // An unterminated private key block.
        if let begin = lastIndex(of: "-----BEGIN", in: b), lastIndex(of: "-----END", in: b).map({ $0 < begin }) ?? true {
            e = min(e, begin)
        }
        return e
    }

    func lastIndex(of lit: StaticString, in b: [UInt8]) -> Int? {
        let c = lit.utf8CodeUnitCount
        guard b.count >= c else { return nil }
        let p = lit.utf8Start
        var i = b.count - c
        while i >= 0 {
            var k = 0
            while k < c, b[i + k] == p[k] { k += 1 }
            if k == c { return i }
            i -= 1
        }
        return nil
    }

    mutating func drain(atEnd: Bool) -> String {
        guard !pending.isEmpty else { return "" }
        var cut = atEnd ? pending.count : boundary()
        if !atEnd {
            let limit = lastIndex(of: "-----BEGIN", in: pending) != nil ? StreamOutputGuard.maxHoldPEM : StreamOutputGuard.maxHold
            if pending.count - cut > limit { cut = pending.count - 256; while cut > 0, pending[cut] & 0xC0 == 0x80 { cut -= 1 } }
        }
        if cut == 0 { return "" }
        let buffer = context + pending
        let offset = context.count
        let findings = buffer.withUnsafeBufferPointer { scanner.scan(utf8: $0) }
        // A finding that crosses the cut is held back whole.
        for f in findings where f.start - offset < cut && f.end - offset > cut && f.start >= offset { cut = f.start - offset }
        if cut == 0 { return "" }
        var out: [UInt8] = []
        out.reserveCapacity(cut)
        var pos = 0
        for f in findings {
            let s = f.start - offset, e = f.end - offset
            guard s >= pos, e <= cut, s >= 0 else { continue }
            let act = actions(f.type).forOutput
            if act == .allow || act == .pseudonymize {
                // Passed through unchanged: recorded by type only. Its HMAC fingerprint was the
                // guard's biggest cost on answers full of (restored) personal data, and nothing
                // reads it: only values the guard rewrites carry one.
                applied.append(Operators.Applied(type: f.type, action: act, fingerprint: "", score: f.score))
                continue
            }
            let value = String(decoding: pending[s..<e], as: UTF8.self)
            applied.append(Operators.Applied(type: f.type, action: act, fingerprint: operators.fingerprint(value, type: f.type), score: f.score))
            let replacement: String
            switch act {
            case .allow, .pseudonymize: continue
            case .redact, .block: replacement = operators.redact(f.type)
            case .mask: replacement = operators.mask(value, type: f.type)
            case .hash: replacement = operators.hash(value, type: f.type)
            }
            out.append(contentsOf: pending[pos..<s])
            out.append(contentsOf: replacement.utf8)
            pos = e
        }
        out.append(contentsOf: pending[pos..<cut])
        context.append(contentsOf: pending[0..<cut])
        if context.count > StreamOutputGuard.contextKeep {
            var drop = context.count - StreamOutputGuard.contextKeep
            while drop < context.count, context[drop] & 0xC0 == 0x80 { drop += 1 }
            context.removeFirst(drop)
        }
        pending.removeFirst(cut)
        return String(decoding: out, as: UTF8.self)
    }
}

/// Restore, then scan: what one streamed field (content, reasoning_content, one tool call's
/// arguments) goes through on its way to the client.
public struct ResponseStreamProcessor: Sendable {
    var restorer: StreamRestorer
    var outputGuard: StreamOutputGuard?

    /// `outputGuard` nil disables output scanning (restore only).
    public init(vault: Vault, outputGuard: StreamOutputGuard?) {
        self.restorer = StreamRestorer(vault: vault)
        self.outputGuard = outputGuard
    }

    public var applied: [Operators.Applied] { outputGuard?.applied ?? [] }

    public mutating func feed(_ chunk: String) -> String {
        let restored = restorer.feed(chunk)
        guard outputGuard != nil else { return restored }
        return outputGuard!.feed(restored)
    }

    public mutating func finish() -> String {
        let restored = restorer.finish()
        guard outputGuard != nil else { return restored }
        return outputGuard!.feed(restored) + outputGuard!.finish()
    }
}
