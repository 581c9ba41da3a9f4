import AirlockCore

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

    /// Rewrites scannable strings in place; `rewrite` returns nil to keep a string.
    @discardableResult
    static func rewriteUserStrings(in request: inout JSONValue, _ rewrite: (String, String) -> String?) -> Int {
        guard case .object(var root) = request else { return 0 }
        var changed = 0
        func visit(_ value: inout JSONValue, _ path: String) {
            if case .string(let s) = value, let r = rewrite(path, s) { value = .string(r); changed += 1 }
        }
        func visitTextOrParts(_ value: inout JSONValue, _ path: String) {
            switch value {
            case .string: visit(&value, path)
            case .array(var parts):
                for i in parts.indices {
                    if case .string = parts[i] { visit(&parts[i], "\(path)[\(i)]"); continue }
                    guard case .object(var part) = parts[i] else { continue }
                    if var t = part["text"] { visit(&t, "\(path)[\(i)].text"); part["text"] = t }
                    parts[i] = .object(part)
                }
                value = .array(parts)
            default: break
            }
        }
        func visitArguments(_ holder: inout JSONObject, _ path: String) {
            guard case .object(var fn) = holder["function"] ?? .null else { return }
            if var a = fn["arguments"] { visit(&a, "\(path).function.arguments"); fn["arguments"] = a }
            holder["function"] = .object(fn)
        }
        if case .array(var messages) = root["messages"] ?? .null {
            for i in messages.indices {
                guard case .object(var m) = messages[i] else { continue }
                let p = "messages[\(i)]"
                if var c = m["content"] { visitTextOrParts(&c, "\(p).content"); m["content"] = c }
                if var nm = m["name"] { visit(&nm, "\(p).name"); m["name"] = nm }
                if var rc = m["reasoning_content"] { visit(&rc, "\(p).reasoning_content"); m["reasoning_content"] = rc }
                if case .array(var calls) = m["tool_calls"] ?? .null {
                    for j in calls.indices {
                        guard case .object(var call) = calls[j] else { continue }
                        visitArguments(&call, "\(p).tool_calls[\(j)]")
                        calls[j] = .object(call)
                    }
                    m["tool_calls"] = .array(calls)
                }
                if case .object(var fc) = m["function_call"] ?? .null {
                    if var a = fc["arguments"] { visit(&a, "\(p).function_call.arguments"); fc["arguments"] = a }
                    m["function_call"] = .object(fc)
                }
                messages[i] = .object(m)
            }
            root["messages"] = .array(messages)
        }
        for key in ["prompt", "input"] {
            if var v = root[key] { visitTextOrParts(&v, key); root[key] = v }
        }
        // Fields beside the messages that clients fill with their own text: the end-user id
        // (often an e-mail address), metadata values, and predicted output.
        if var u = root["user"] { visit(&u, "user"); root["user"] = u }
        if case .object(var meta) = root["metadata"] ?? .null {
            for key in meta.keys { if var v = meta[key] { visit(&v, "metadata.\(key)"); meta[key] = v } }
            root["metadata"] = .object(meta)
        }
        if case .object(var prediction) = root["prediction"] ?? .null {
            if var c = prediction["content"] { visitTextOrParts(&c, "prediction.content"); prediction["content"] = c }
            root["prediction"] = .object(prediction)
        }
        request = .object(root)
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
    public func transform(request: JSONValue, located: [LocatedFinding]? = nil, actions: (EntityType) -> Action,
                          vault: inout Vault) -> TransformResult {
        let known: [String: [Finding]]? = located.map { Dictionary(grouping: $0, by: \.path).mapValues { $0.map(\.finding) } }
        var req = request
        var summary = ScanSummary()
        // Reserve placeholder numbers the user typed literally.
        RequestTransformer.forEachUserString(in: request) { _, s in Vault.reserveLiterals(in: s, vault: &vault) }
        var v = vault
        RequestTransformer.rewriteUserStrings(in: &req) { path, s in
            let findings = known.map { $0[path] ?? [] } ?? scanner.scan(s)
            guard !findings.isEmpty else { return nil }
            let r = operators.apply(s, findings: findings, action: actions, vault: &v)
            for a in r.applied {
                summary.entries.append(.init(path: path, type: a.type, action: a.action, fingerprint: a.fingerprint, score: a.score))
            }
            return r.text == s ? nil : r.text
        }
        vault = v
        return TransformResult(request: req, summary: summary)
    }
}

extension Vault {
    /// Finds placeholders written literally in user text and reserves their numbers. Every
    /// shape the restorer accepts counts (`<TYPE_N>`, but also `TYPE_N>` or `type_n`, which
    /// need an underscore), else restoring would turn such user text into another value.
    static func reserveLiterals(in s: String, vault: inout Vault) {
        guard s.utf8.contains(where: { $0 == UInt8(ascii: "<") || $0 == UInt8(ascii: "_") }) else { return }
        let matcher = PlaceholderMatcher(types: Set(EntityType.allCases))
        let bytes = Array(s.utf8)
        bytes.withUnsafeBufferPointer { b in
            for i in 0..<b.count where matcher.mayStart(b[i]) {
                if case .full(_, let type, let number) = matcher.match(b, at: i, atEnd: true) { vault.reserve(type: type, number: number) }
            }
        }
    }
}
