import AirlockCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A finding inside a JSON request: which string (a path such as `messages[2].content[0].text`)
/// and where in it (UTF-8 byte offsets into that string).
public struct LocatedFinding: Sendable, Hashable {
    public var path: String
    public var finding: Finding
}

/// What a request contained and what was done, safe to log and audit: types, counts, actions
/// and HMAC fingerprints, never values.
public struct ScanSummary: Sendable, Equatable {
    public struct Entry: Sendable, Hashable {
        public var path: String
        public var type: EntityType
        public var action: Action
        /// HMAC-SHA256 (tenant key) of the value, lowercase hex.
        public var fingerprint: String
        public var score: Double
    }
    public var entries: [Entry] = []

    public init() {}

    public var counts: [EntityType: Int] {
        var c: [EntityType: Int] = [:]
        for e in entries { c[e.type, default: 0] += 1 }
        return c
    }
    /// Types whose action is `.block`.
    public var blockedTypes: Set<EntityType> { Set(entries.filter { $0.action == .block }.map(\.type)) }
    public var blocked: Bool { entries.contains { $0.action == .block } }
}

public struct TransformResult: Sendable {
    /// The request with every replaced value rewritten; everything else byte-for-byte as sent.
    public var request: JSONValue
    public var summary: ScanSummary
    /// True when any finding's action was `.block`: the gateway must not forward the request.
    public var blocked: Bool { summary.blocked }
}

/// JSON-aware scanning of chat-completions (and legacy completions / embeddings) requests.
/// Only user-controlled strings are scanned: message `content` (string or the `text` of
/// content parts), `name`, tool-call and function-call `arguments`, `prompt`, `input`,
/// `user`, `metadata` values and `prediction.content`. Keys, roles, ids, model names and tool schemas are never scanned or changed.
public struct RequestTransformer: Sendable {
    public let scanner: Scanner
    public let operators: Operators

    public init(scanner: Scanner, operators: Operators) {
        self.scanner = scanner
        self.operators = operators
    }

    /// Calls `body(path, string)` for every scannable string.
    public static func forEachUserString(in request: JSONValue, _ body: (String, String) -> Void) {
        var copy = request
        _ = rewriteUserStrings(in: &copy) { path, s in body(path, s); return nil }
    }

    /// Rewrites scannable strings in place; `rewrite` returns nil to keep a string. Containers
    /// are written back only when something inside them changed, so a walk that rewrites
    /// nothing (`forEachUserString`, a clean prompt) copies none of the request's storage.
    @discardableResult
    static func rewriteUserStrings(in request: inout JSONValue, _ rewrite: (String, String) -> String?) -> Int {
        guard case .object(var root) = request else { return 0 }
        var changed = 0
        func visit(_ value: inout JSONValue, _ path: String) -> Bool {
            guard case .string(let s) = value, let r = rewrite(path, s) else { return false }
            value = .string(r)
            changed += 1
            return true
        }
        /// Visits `holder[key]` with `body` and stores it back only when it changed.
        func visitField(_ holder: inout JSONObject, _ key: String, _ body: (inout JSONValue) -> Bool) -> Bool {
            guard var v = holder[key], body(&v) else { return false }
            holder[key] = v
            return true
        }
        func visitTextOrParts(_ value: inout JSONValue, _ path: String) -> Bool {
            switch value {
            case .string: return visit(&value, path)
            case .array(var parts):
                var any = false
                for i in parts.indices {
                    if case .string = parts[i] { any = visit(&parts[i], "\(path)[\(i)]") || any; continue }
                    guard case .object(var part) = parts[i] else { continue }
                    if visitField(&part, "text", { visit(&$0, "\(path)[\(i)].text") }) { parts[i] = .object(part); any = true }
                }
                if any { value = .array(parts) }
                return any
            default: return false
            }
        }
        func visitArguments(_ holder: inout JSONObject, _ path: String) -> Bool {
            guard case .object(var fn) = holder["function"] ?? .null,
                  visitField(&fn, "arguments", { visit(&$0, "\(path).function.arguments") }) else { return false }
            holder["function"] = .object(fn)
            return true
        }
        var rootChanged = false
        if case .array(var messages) = root["messages"] ?? .null {
            var anyMessage = false
            for i in messages.indices {
                guard case .object(var m) = messages[i] else { continue }
                let p = "messages[\(i)]"
                var any = visitField(&m, "content") { visitTextOrParts(&$0, "\(p).content") }
                any = visitField(&m, "name") { visit(&$0, "\(p).name") } || any
                any = visitField(&m, "reasoning_content") { visit(&$0, "\(p).reasoning_content") } || any
                if case .array(var calls) = m["tool_calls"] ?? .null {
                    var anyCall = false
                    for j in calls.indices {
                        guard case .object(var call) = calls[j], visitArguments(&call, "\(p).tool_calls[\(j)]") else { continue }
                        calls[j] = .object(call)
                        anyCall = true
                    }
                    if anyCall { m["tool_calls"] = .array(calls); any = true }
                }
                if case .object(var fc) = m["function_call"] ?? .null,
                   visitField(&fc, "arguments", { visit(&$0, "\(p).function_call.arguments") }) {
                    m["function_call"] = .object(fc)
                    any = true
                }
                if any { messages[i] = .object(m); anyMessage = true }
            }
            if anyMessage { root["messages"] = .array(messages); rootChanged = true }
        }
        for key in ["prompt", "input"] {
            rootChanged = visitField(&root, key) { visitTextOrParts(&$0, key) } || rootChanged
        }
        // Fields beside the messages that clients fill with their own text: the end-user id
        // (often an e-mail address), metadata values, and predicted output.
        rootChanged = visitField(&root, "user") { visit(&$0, "user") } || rootChanged
        if case .object(var meta) = root["metadata"] ?? .null {
            var any = false
            for key in meta.keys { any = visitField(&meta, key) { visit(&$0, "metadata.\(key)") } || any }
            if any { root["metadata"] = .object(meta); rootChanged = true }
        }
        if case .object(var prediction) = root["prediction"] ?? .null,
           visitField(&prediction, "content", { visitTextOrParts(&$0, "prediction.content") }) {
            root["prediction"] = .object(prediction)
            rootChanged = true
        }
        if rootChanged { request = .object(root) }
        return changed
    }

    /// Findings per scannable string, with byte offsets into that string.
    public func scan(request: JSONValue) -> [LocatedFinding] {
        var out: [LocatedFinding] = []
        RequestTransformer.forEachUserString(in: request) { path, s in
            for f in scanner.scan(s) { out.append(LocatedFinding(path: path, finding: f)) }
        }
        return out
    }

    /// Applies `actions` to every finding. Pseudonyms go into `vault` (keep it for the answer).
    /// If any action is `.block` the result says so; the values are redacted regardless.
    /// Pass what `scan(request:)` returned for this same request as `located` to skip scanning
    /// it a second time (both walk the strings in the same order with the same paths).
    /// With `fingerprints` false the entries' fingerprints are left empty: the gateway computes
    /// them with `fingerprints(of:in:operators:)` once the answer has left, since only the
    /// audit row needs them.
    public func transform(request: JSONValue, located: [LocatedFinding]? = nil, actions: (EntityType) -> Action,
                          vault: inout Vault, fingerprints: Bool = true) -> TransformResult {
        let known = located.map(FindingsByPath.init)
        var req = request
        var summary = ScanSummary()
        // Reserve placeholder numbers the user typed literally.
        RequestTransformer.forEachUserString(in: request) { _, s in Vault.reserveLiterals(in: s, vault: &vault) }
        var v = vault
        if let located { v.reserveCapacity(located.count) }
        RequestTransformer.rewriteUserStrings(in: &req) { path, s in
            let findings = known.map { $0.findings(at: path) } ?? scanner.scan(s)
            guard !findings.isEmpty else { return nil }
            let r = operators.apply(s, findings: findings, action: actions, vault: &v, fingerprints: fingerprints)
            for a in r.applied {
                summary.entries.append(.init(path: path, type: a.type, action: a.action, fingerprint: a.fingerprint, score: a.score))
            }
            return r.text == s ? nil : r.text
        }
        vault = v
        return TransformResult(request: req, summary: summary)
    }

    /// The HMAC fingerprints of `located` (as `scan(request:)` returned them for `request`),
    /// in the same order: what `transform` puts in its entries, computed in one walk.
    public static func fingerprints(of located: [LocatedFinding], in request: JSONValue, operators: Operators) -> [String] {
        guard !located.isEmpty else { return [] }
        var out: [String] = []
        out.reserveCapacity(located.count)
        var next = 0
        forEachUserString(in: request) { path, s in
            // Findings come in walk order, so the ones for this string are the next ones.
            guard next < located.count, located[next].path == path else { return }
            var s = s
            s.withUTF8 { utf8 in
                while next < located.count, located[next].path == path {
                    let f = located[next].finding
                    let valid = f.start >= 0 && f.start < f.end && f.end <= utf8.count
                    let value = valid ? UnsafeBufferPointer(rebasing: utf8[f.start..<f.end]) : UnsafeBufferPointer(start: nil, count: 0)
                    out.append(operators.fingerprint(utf8: UnsafeRawBufferPointer(value), type: f.type))
                    next += 1
                }
            }
        }
        // Findings that did not come from this request (never the case for `scan`'s output)
        // still get one entry each, so counts stay aligned.
        while out.count < located.count { out.append(operators.fingerprint("", type: located[out.count].finding.type)) }
        return out
    }
}

/// `scan(request:)`'s findings by string. They come in walk order, so each string's findings
/// are one run: a few runs looked up by comparing paths, instead of a dictionary hashing every
/// finding's path. Findings given in another order are grouped with a dictionary.
struct FindingsByPath {
    private var runs: [(path: String, findings: ArraySlice<LocatedFinding>)] = []
    private var grouped: [String: [LocatedFinding]]?

    init(_ located: [LocatedFinding]) {
        var start = located.startIndex
        while start < located.endIndex {
            let path = located[start].path
            var end = start + 1
            while end < located.endIndex, located[end].path == path { end += 1 }
            if runs.contains(where: { $0.path == path }) {
                grouped = Dictionary(grouping: located, by: \.path)
                runs = []
                return
            }
            runs.append((path, located[start..<end]))
            start = end
        }
    }

    func findings(at path: String) -> [Finding] {
        if let grouped { return grouped[path]?.map(\.finding) ?? [] }
        return runs.first { $0.path == path }?.findings.map(\.finding) ?? []
    }
}

extension Vault {
    /// Finds placeholders written literally in user text and reserves their numbers. Every
    /// shape the restorer accepts counts (`<TYPE_N>`, but also `TYPE_N>` or `type_n`, which
    /// need an underscore), else restoring would turn such user text into another value.
    static func reserveLiterals(in s: String, vault: inout Vault) {
        guard Vault.mayHoldLiteral(s) else { return }
        let matcher = PlaceholderMatcher.allTypes
        let bytes = Array(s.utf8)
        bytes.withUnsafeBufferPointer { b in
            for i in 0..<b.count where matcher.mayStart(b[i]) {
                if case .full(_, let type, let number) = matcher.match(b, at: i, atEnd: true) { vault.reserve(type: type, number: number) }
            }
        }
    }

    /// Whether `s` has a `<` or `_` at all (memchr over the UTF-8 bytes: this runs over every
    /// scanned string of every call that found something).
    static func mayHoldLiteral(_ s: String) -> Bool {
        var s = s
        return s.withUTF8 { b in
            guard let base = b.baseAddress, !b.isEmpty else { return false }
            return memchr(base, Int32(UInt8(ascii: "<")), b.count) != nil || memchr(base, Int32(UInt8(ascii: "_")), b.count) != nil
        }
    }
}
