// AirlockDetect — the PII and secret scanner, its operators, the pseudonym vault and the
// streaming restorer / output guard. Public API for the gateway:
//
// Scanning
//   let scanner = Scanner()                                   // Sendable; build once, share
//   Scanner(configuration: .init(minimumScore: 0.5, enabledTypes: [...], contextWindow: 48))
//   scanner.scan(_ text: String) -> [Finding]                 // UTF-8 byte offsets, end exclusive,
//   scanner.scan(utf8: UnsafeBufferPointer<UInt8>) -> [Finding]  //  sorted, non-overlapping
//   Scanner.codePointSpans(_ findings: [Finding], in: String) -> [Finding]  // code point offsets
//
// Actions and operators
//   enum Action { allow, redact, mask, hash, pseudonymize, block }
//   Action.defaultAction(for: EntityType) -> Action           // secrets redact, URL allow, else pseudonymize
//   action.forOutput                                          // what applies to model output
//   ActionTable([EntityType: Action], fallback:) / ActionTable(names: [String: String]) throws
//     .action(for:)                                           // configurable default per type
//   Operators(hashKey: [UInt8])                               // per-tenant HMAC key
//     .redact(type) -> "[EMAIL_ADDRESS]"   .mask(value, type:) -> "****-****-****-1234"
//     .hash(value, type:) -> "[EMAIL_ADDRESS:3f2a9c1b0d4e5f6a]"
//     .fingerprint(value, type:) -> String                   // HMAC-SHA256 hex, for audit
//     .apply(text, findings:, action:, vault: &Vault) -> (text: String, applied: [Operators.Applied])
//
// Requests (JSON-aware: message content incl. content parts, name, tool/function-call
// arguments, reasoning_content, prompt, input; never keys, roles, ids, schemas)
//   let rt = RequestTransformer(scanner:, operators:)
//   rt.scan(request: JSONValue) -> [LocatedFinding]           // path + finding
//   rt.transform(request:, actions: (EntityType) -> Action, vault: &Vault) -> TransformResult
//     TransformResult: .request (rewritten JSONValue), .summary (ScanSummary), .blocked
//     ScanSummary: .entries (path, type, action, fingerprint, score), .counts, .blockedTypes
//
// Vault and answers
//   var vault = Vault()            // per request/conversation; value type, keep it with the conversation
//   vault.placeholder(for:type:) -> "<EMAIL_ADDRESS_1>"; vault.original(for:); vault.restore(_:)
//   StreamRestorer(vault:)         .feed(chunk) -> String (safe to send now), .finish() -> String
//   StreamOutputGuard(scanner:, operators:, actions:)  .feed / .finish / .applied
//   ResponseStreamProcessor(vault:, outputGuard:)       restore then scan, one per streamed field
//   ChatStreamRewriter(vault:, scanner:, operators:, actions:)   // actions nil = restore only
//     .rewrite(_ chunk: JSONValue) -> JSONValue   (chat.completion.chunk: content,
//       reasoning_content, tool_calls[].function.arguments; flushes at finish_reason)
//     .finish() -> [JSONValue]     (extra chunks with held text; send before [DONE]), .applied
//   ResponseRestorer(vault:, scanner:, operators:, actions:).rewrite(_ body: JSONValue)
//     -> (response: JSONValue, applied: [Operators.Applied])   (non-streamed chat.completion)
//
// Evaluation
//   Evaluation.run(lines: [String], scanner:) -> Evaluation   .report (JSON), .patternMicro

import AirlockCore

/// Finds personal data and secrets in UTF-8 text in one linear pass over the bytes.
///
/// Why bytes and not `Character`s: grapheme breaking costs more than all the recognisers
/// together, and every pattern here is defined on ASCII structure or whole UTF-8 scalars.
public struct Scanner: Sendable {
    public struct Configuration: Sendable {
        /// Findings scoring below this are dropped.
        public var minimumScore: Double
        /// Types reported; others are never emitted.
        public var enabledTypes: Set<EntityType>
        /// Bytes before a candidate searched for context words.
        public var contextWindow: Int

        public init(minimumScore: Double = 0.5, enabledTypes: Set<EntityType> = Set(EntityType.allCases), contextWindow: Int = 48) {
            self.minimumScore = minimumScore
            self.enabledTypes = enabledTypes
            self.contextWindow = contextWindow
        }
    }

    public let configuration: Configuration
    let enabledMask: UInt64
    let allEnabled: Bool

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
        var mask: UInt64 = 0
        for (i, t) in EntityType.allCases.enumerated() where configuration.enabledTypes.contains(t) { mask |= 1 << UInt64(i) }
        self.enabledMask = mask
        self.allEnabled = configuration.enabledTypes.count == EntityType.allCases.count
        _ = NameLexicon.shared // build tables once, outside any request
    }

    /// Findings with UTF-8 byte offsets into `text`, sorted by start, non-overlapping.
    public func scan(_ text: String) -> [Finding] {
        var copy = text
        return copy.withUTF8 { scan(utf8: $0) }
    }

    /// Findings over raw UTF-8 bytes. Invalid UTF-8 is tolerated (treated as opaque bytes).
    public func scan(utf8 buffer: UnsafeBufferPointer<UInt8>) -> [Finding] {
        guard buffer.count > 0 else { return [] }
        var state = ScanState(bytes: buffer, scanner: self)
        state.run()
        return Scanner.resolveOverlaps(state.out)
    }

    /// Converts byte offsets to Unicode code point offsets (what the CLI and corpus use).
    public static func codePointSpans(_ findings: [Finding], in text: String) -> [Finding] {
        guard !findings.isEmpty else { return [] }
        var marks: [Int] = []
        for f in findings { marks.append(f.start); marks.append(f.end) }
        let sortedMarks = Array(Set(marks)).sorted()
        var map: [Int: Int] = [:]
        var cp = 0, byte = 0, mi = 0
        for u in text.utf8 {
            while mi < sortedMarks.count && sortedMarks[mi] == byte { map[byte] = cp; mi += 1 }
            if u & 0xC0 != 0x80 { cp += 1 }
            byte += 1
        }
        while mi < sortedMarks.count { map[sortedMarks[mi]] = cp; mi += 1 }
        return findings.map { Finding(type: $0.type, start: map[$0.start]!, end: map[$0.end]!, score: $0.score) }
    }

    /// One finding per span: among overlapping candidates the higher score wins, and a longer
    /// span wins a near tie (so a URL beats the IP inside it, an email the name inside it).
    static func resolveOverlaps(_ input: [Finding]) -> [Finding] {
        guard input.count > 1 else { return input }
        let sorted = input.sorted { $0.start != $1.start ? $0.start < $1.start : $0.end > $1.end }
        var result: [Finding] = []
        result.reserveCapacity(sorted.count)
        var i = 0
        // Overlaps are rare and local: resolve each connected cluster on its own.
        while i < sorted.count {
            var j = i + 1, maxEnd = sorted[i].end
            while j < sorted.count && sorted[j].start < maxEnd { maxEnd = max(maxEnd, sorted[j].end); j += 1 }
            if j == i + 1 {
                result.append(sorted[i])
            } else {
                let ranked = sorted[i..<j].sorted { a, b in
                    if abs(a.score - b.score) >= 0.15 { return a.score > b.score }
                    if a.length != b.length { return a.length > b.length }
                    if a.score != b.score { return a.score > b.score }
                    return a.start < b.start
                }
                var kept: [Finding] = []
                for f in ranked where !kept.contains(where: { $0.start < f.end && f.start < $0.end }) { kept.append(f) }
                result.append(contentsOf: kept.sorted { $0.start < $1.start })
            }
            i = j
        }
        return result
    }

    @inline(__always) func isEnabled(_ t: EntityType) -> Bool {
        if allEnabled { return true }
        return enabledMask & (1 << UInt64(EntityType.index(of: t))) != 0
    }
}

extension EntityType {
    static let ordered: [EntityType] = EntityType.allCases.map { $0 }
    static func index(of t: EntityType) -> Int {
        // allCases order is fixed; a switch-free lookup via the raw value would hash a String.
        ordered.firstIndex(of: t)!
    }
}
