/// Byte-level BPE tokenizer built from GGUF metadata (`tokenizer.ggml.*`): vocabulary,
/// token types, merge ranks and the pre-tokenizer named by `tokenizer.ggml.pre`.
///
/// Text is split around special tokens first (control tokens only when `parseSpecial` is
/// set, so user text can never smuggle in `<|im_end|>`), then pre-tokenized, mapped to
/// byte-level symbols and merged by rank. Decoding maps tokens back to the exact bytes,
/// so any UTF-8 (Korean, emoji, invalid sequences) round-trips.
public final class BPETokenizer: Sendable {
    public enum TokenType: Int32, Sendable {
        case normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6
    }

    public let vocabularySize: Int
    public let preTokenizer: PreTokenizer
    public let bosToken: Int32?
    public let eosToken: Int32?
    public let addBOS: Bool
    /// Tokens that end a turn (EOS, EOT, `<|im_end|>`, …).
    public let endOfGeneration: Set<Int32>
    let tokenTexts: [String]
    let tokenTypes: [TokenType]
    let tokenBytes: [[UInt8]]
    let textToID: [String: Int32]
    let byteTokens: [Int32]
    /// (left << 32 | right) → (rank << 32 | merged id)
    let merges: [UInt64: UInt64]
    /// Special token texts, longest first: (utf8, id, isControl)
    let specials: [([UInt8], Int32, Bool)]

    public convenience init(gguf: GGUFFile) throws {
        guard let model = gguf.string("tokenizer.ggml.model") else {
            throw EngineError.invalidFile("missing tokenizer.ggml.model")
        }
        guard model == "gpt2" else {
            throw EngineError.unsupported("tokenizer model '\(model)' is not supported (byte-level BPE only)")
        }
        guard let tokensArray = gguf.array("tokenizer.ggml.tokens") else {
            throw EngineError.invalidFile("missing tokenizer.ggml.tokens")
        }
        let tokens = try tokensArray.strings()
        let types = try gguf.array("tokenizer.ggml.token_type")?.integers() ?? []
        let merges = try gguf.array("tokenizer.ggml.merges")?.strings() ?? []
        let preName = gguf.string("tokenizer.ggml.pre") ?? "gpt2"
        guard let pre = PreTokenizer(ggufName: preName) else {
            throw EngineError.unsupported("pre-tokenizer '\(preName)' is not supported")
        }
        try self.init(tokens: tokens, types: types, merges: merges, preTokenizer: pre,
                      bos: gguf.int("tokenizer.ggml.bos_token_id"),
                      eos: gguf.int("tokenizer.ggml.eos_token_id"),
                      eot: gguf.int("tokenizer.ggml.eot_token_id"),
                      addBOS: gguf.bool("tokenizer.ggml.add_bos_token") ?? false)
    }

    public init(tokens: [String], types: [Int], merges mergeList: [String], preTokenizer: PreTokenizer,
                bos: Int?, eos: Int?, eot: Int? = nil, addBOS: Bool = false) throws {
        guard !tokens.isEmpty else { throw EngineError.invalidFile("empty vocabulary") }
        guard types.isEmpty || types.count == tokens.count else {
            throw EngineError.invalidFile("token_type count does not match the vocabulary")
        }
        vocabularySize = tokens.count
        self.preTokenizer = preTokenizer
        func valid(_ id: Int?) -> Int32? {
            guard let id, id >= 0, id < tokens.count else { return nil }
            return Int32(id)
        }
        bosToken = valid(bos)
        eosToken = valid(eos)
        self.addBOS = addBOS && bosToken != nil
        tokenTexts = tokens
        tokenTypes = types.isEmpty ? Array(repeating: .normal, count: tokens.count)
            : types.map { TokenType(rawValue: Int32(clamping: $0)) ?? .normal }

        var textToID: [String: Int32] = [:]
        textToID.reserveCapacity(tokens.count)
        for (i, t) in tokens.enumerated() where textToID[t] == nil { textToID[t] = Int32(i) }
        self.textToID = textToID

        var bytes: [[UInt8]] = []
        bytes.reserveCapacity(tokens.count)
        for (i, t) in tokens.enumerated() {
            switch tokenTypes[i] {
            case .control, .unknown, .unused: bytes.append([])
            case .userDefined: bytes.append(Array(t.utf8))
            case .byte: bytes.append(Self.parseByteToken(t).map { [$0] } ?? [])
            case .normal: bytes.append(ByteLevel.bytes(ofTokenText: t) ?? Array(t.utf8))
            }
        }
        tokenBytes = bytes

        // Each byte maps to its byte-level character token, else a <0xXX> token, else unknown.
        let unknown = textToID["<unk>"] ?? textToID["<|endoftext|>"] ?? 0
        byteTokens = (0..<256).map { b in
            if let id = textToID[String(Character(Unicode.Scalar(ByteLevel.byteToScalar[b])!))] { return id }
            let hex = Array("0123456789ABCDEF")
            if let id = textToID["<0x\(hex[b >> 4])\(hex[b & 15])>"] { return id }
            return unknown
        }

        var mergeTable: [UInt64: UInt64] = [:]
        mergeTable.reserveCapacity(mergeList.count)
        for (rank, m) in mergeList.enumerated() {
            guard let space = m.firstIndex(of: " ") else { continue }
            let left = String(m[..<space]), right = String(m[m.index(after: space)...])
            guard let l = textToID[left], let r = textToID[right], let merged = textToID[left + right] else { continue }
            let key = UInt64(UInt32(l)) << 32 | UInt64(UInt32(r))
            if mergeTable[key] == nil { mergeTable[key] = UInt64(rank) << 32 | UInt64(UInt32(merged)) }
        }
        merges = mergeTable

        specials = tokens.enumerated().compactMap { i, t -> ([UInt8], Int32, Bool)? in
            let ty = types.isEmpty ? TokenType.normal : (TokenType(rawValue: Int32(clamping: types[i])) ?? .normal)
            guard ty == .control || ty == .userDefined, !t.isEmpty else { return nil }
            return (Array(t.utf8), Int32(i), ty == .control)
        }.sorted { $0.0.count > $1.0.count }

        var eog = Set<Int32>()
        if let e = eosToken { eog.insert(e) }
        if let e = valid(eot) { eog.insert(e) }
        for name in ["<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>",
                     "<|eom_id|>", "<｜end▁of▁sentence｜>", "<|end_of_text|>"] {
            if let id = textToID[name], tokenTypes[Int(id)] == .control || tokenTypes[Int(id)] == .userDefined {
                eog.insert(id)
            }
        }
        endOfGeneration = eog
        // Build the character-class table now rather than inside the first request.
        _ = UnicodeFlags.of(0x20)
    }

    static func parseByteToken(_ t: String) -> UInt8? {
        let u = Array(t.utf8)
        guard u.count == 6, u[0] == UInt8(ascii: "<"), u[1] == UInt8(ascii: "0"), u[2] == UInt8(ascii: "x"),
              u[5] == UInt8(ascii: ">") else { return nil }
        return UInt8(String(decoding: u[3...4], as: UTF8.self), radix: 16)
    }

    // MARK: encoding

    /// Token ids for `text`. Control tokens are recognised only with `parseSpecial`.
    public func encode(_ text: String, parseSpecial: Bool = false) -> [Int32] {
        var out: [Int32] = []
        let utf8 = Array(text.utf8)
        var start = 0
        var i = 0
        while i < utf8.count {
            if let (len, id) = matchSpecial(utf8, at: i, parseSpecial: parseSpecial) {
                if start < i { encodeFragment(utf8[start..<i], into: &out) }
                out.append(id)
                i += len
                start = i
            } else {
                i += 1
            }
        }
        if start < utf8.count { encodeFragment(utf8[start..<utf8.count], into: &out) }
        return out
    }

    /// The id of a special token by its exact text (templates use this).
    public func specialToken(_ text: String) -> Int32? {
        guard let id = textToID[text] else { return nil }
        let t = tokenTypes[Int(id)]
        return t == .control || t == .userDefined ? id : nil
    }

    private func matchSpecial(_ s: [UInt8], at i: Int, parseSpecial: Bool) -> (Int, Int32)? {
        for (bytes, id, isControl) in specials where (parseSpecial || !isControl) && bytes[0] == s[i] {
            if bytes.count <= s.count - i && s[i..<(i + bytes.count)].elementsEqual(bytes) {
                return (bytes.count, id)
            }
        }
        return nil
    }

    private func encodeFragment(_ bytes: ArraySlice<UInt8>, into out: inout [Int32]) {
        // Decode to code points (invalid UTF-8 becomes U+FFFD for classification only;
        // the bytes themselves are what get encoded).
        var scalars: [UInt32] = []
        var offsets: [Int] = []  // byte offset of each scalar
        scalars.reserveCapacity(bytes.count)
        var idx = bytes.startIndex
        while idx < bytes.endIndex {
            let (scalar, len) = Self.decodeScalar(bytes, idx)
            scalars.append(scalar)
            offsets.append(idx)
            idx += len
        }
        offsets.append(bytes.endIndex)
        var symbols: [Int32] = []
        for piece in preTokenizer.split(scalars) {
            symbols.removeAll(keepingCapacity: true)
            for b in bytes[offsets[piece.lowerBound]..<offsets[piece.upperBound]] {
                symbols.append(byteTokens[Int(b)])
            }
            applyMerges(&symbols)
            out.append(contentsOf: symbols)
        }
    }

    /// One UTF-8 scalar at i (length ≥ 1); malformed input yields U+FFFD for one byte.
    static func decodeScalar(_ b: ArraySlice<UInt8>, _ i: Int) -> (UInt32, Int) {
        let b0 = b[i]
        if b0 < 0x80 { return (UInt32(b0), 1) }
        let need: Int
        var v: UInt32
        switch b0 {
        case 0xC2...0xDF: need = 1; v = UInt32(b0 & 0x1F)
        case 0xE0...0xEF: need = 2; v = UInt32(b0 & 0x0F)
        case 0xF0...0xF4: need = 3; v = UInt32(b0 & 0x07)
        default: return (0xFFFD, 1)
        }
        guard i + need < b.endIndex else { return (0xFFFD, 1) }
        for k in 1...need {
            let c = b[i + k]
            guard c & 0xC0 == 0x80 else { return (0xFFFD, 1) }
            v = v << 6 | UInt32(c & 0x3F)
        }
        return (v, need + 1)
    }

    /// Repeatedly merges the adjacent pair with the lowest rank (leftmost on ties).
    func applyMerges(_ symbols: inout [Int32]) {
        while symbols.count > 1 {
            var bestRank = UInt64.max
            var bestIndex = -1
            var bestMerged: Int32 = 0
            for i in 0..<(symbols.count - 1) {
                let key = UInt64(UInt32(symbols[i])) << 32 | UInt64(UInt32(symbols[i + 1]))
                if let m = merges[key], m >> 32 < bestRank {
                    bestRank = m >> 32
                    bestIndex = i
                    bestMerged = Int32(truncatingIfNeeded: m & 0xFFFF_FFFF)
                }
            }
            if bestIndex < 0 { break }
            symbols[bestIndex] = bestMerged
            symbols.remove(at: bestIndex + 1)
        }
    }

    // MARK: decoding

    /// Raw bytes of one token (empty for control tokens).
    public func bytes(of token: Int32) -> [UInt8] {
        guard token >= 0, Int(token) < tokenBytes.count else { return [] }
        return tokenBytes[Int(token)]
    }

    /// The token's vocabulary text (for diagnostics).
    public func text(of token: Int32) -> String? {
        guard token >= 0, Int(token) < tokenTexts.count else { return nil }
        return tokenTexts[Int(token)]
    }

    /// Decodes ids to a string (invalid UTF-8 is repaired with U+FFFD).
    public func decode(_ tokens: [Int32]) -> String {
        String(decoding: decodeBytes(tokens), as: UTF8.self)
    }

    public func decodeBytes(_ tokens: [Int32]) -> [UInt8] {
        var out: [UInt8] = []
        for t in tokens { out.append(contentsOf: bytes(of: t)) }
        return out
    }
}
