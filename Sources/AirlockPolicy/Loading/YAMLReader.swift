import Yams

/// Walks a composed YAML node tree, reading typed values and collecting every problem with
/// its line mark, so one run reports all mistakes rather than the first.
struct YAMLReader {
    typealias Problem = PolicyValidationError.Problem
    let file: String?
    private(set) var problems: [Problem] = []

    /// Problems in document order (they are found section by section).
    var sortedProblems: [Problem] {
        problems.enumerated().sorted { a, b in
            let la = (a.element.line ?? 0, a.element.column ?? 0), lb = (b.element.line ?? 0, b.element.column ?? 0)
            return la != lb ? la < lb : a.offset < b.offset
        }.map(\.element)
    }

    init(file: String?) { self.file = file }

    /// Parses the first document; a syntax error becomes a problem at its mark.
    mutating func compose(_ yaml: String) -> Node? {
        do {
            guard let root = try Yams.compose(yaml: yaml) else {
                problems.append(Problem(code: .syntax, file: file, line: 1, column: 1, path: "", message: "empty document"))
                return nil
            }
            return root
        } catch let error as YamlError {
            var line: Int?, column: Int?, message = "invalid YAML"
            switch error {
            case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
                 .composer(let context, let problem, let mark, _):
                line = mark.line
                column = mark.column
                message = "invalid YAML: " + problem + (context.map { " " + $0.text } ?? "")
            case .reader(let problem, _, _, _):
                message = "unreadable YAML: " + problem
            default:
                break
            }
            problems.append(Problem(code: .syntax, file: file, line: line, column: column, path: "", message: message))
            return nil
        } catch {
            problems.append(Problem(code: .syntax, file: file, path: "", message: "invalid YAML"))
            return nil
        }
    }

    mutating func report(_ code: PolicyValidationError.Code, _ node: Node?, _ path: String, _ message: String) {
        let mark = node?.mark
        problems.append(Problem(code: code, file: file, line: mark?.line, column: mark?.column, path: path, message: message))
    }

    // MARK: Paths

    static func child(_ path: String, _ key: String) -> String { path.isEmpty ? key : path + "." + key }
    static func item(_ path: String, _ index: Int) -> String { path + "[\(index)]" }

    // MARK: Shapes

    static func kind(of node: Node) -> String {
        switch node {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .scalar: return YAMLReader.has(node, .null) ? "nothing" : "'\(node.scalar?.string ?? "")'"
        }
    }

    /// A mapping's fields by key. Unknown keys, duplicate keys and missing required keys are
    /// reported; nil when the node is not a mapping.
    mutating func fields(_ node: Node, _ path: String, allowed: [String], required: [String] = []) -> [String: Node]? {
        guard case .mapping(let mapping) = node else {
            report(.wrongType, node, path, "expected a mapping, found \(YAMLReader.kind(of: node))")
            return nil
        }
        var out: [String: Node] = [:]
        for (keyNode, value) in mapping {
            guard let key = keyNode.scalar?.string else {
                report(.wrongType, keyNode, path, "keys must be plain words")
                continue
            }
            let keyPath = YAMLReader.child(path, key)
            guard allowed.contains(key) else {
                let hint = YAMLReader.suggestion(for: key, among: allowed).map { "did you mean '\($0)'?" }
                    ?? "expected one of \(allowed.joined(separator: ", "))"
                report(.unknownKey, keyNode, keyPath, "unknown key '\(key)' (\(hint))")
                continue
            }
            if out[key] != nil {
                report(.duplicate, keyNode, keyPath, "duplicate key '\(key)'")
                continue
            }
            out[key] = value
        }
        for key in required where out[key] == nil {
            report(.missingField, node, YAMLReader.child(path, key), "missing required field '\(key)'")
        }
        return out
    }

    /// A list's items with their paths; nil (reported) when not a list.
    mutating func items(_ node: Node, _ path: String) -> [(node: Node, path: String)]? {
        guard case .sequence(let sequence) = node else {
            report(.wrongType, node, path, "expected a list, found \(YAMLReader.kind(of: node))")
            return nil
        }
        return sequence.enumerated().map { ($0.element, YAMLReader.item(path, $0.offset)) }
    }

    // MARK: Scalars

    mutating func string(_ node: Node, _ path: String) -> String? {
        guard case .scalar(let scalar) = node, !YAMLReader.has(node, .null) else {
            report(.wrongType, node, path, "expected text, found \(YAMLReader.kind(of: node))")
            return nil
        }
        return scalar.string
    }

    mutating func bool(_ node: Node, _ path: String) -> Bool? {
        guard YAMLReader.has(node, .bool), let value = node.bool else {
            report(.wrongType, node, path, "expected true or false, found \(YAMLReader.kind(of: node))")
            return nil
        }
        return value
    }

    mutating func int(_ node: Node, _ path: String, in range: ClosedRange<Int>) -> Int? {
        guard YAMLReader.has(node, .int), let value = node.int else {
            report(.wrongType, node, path, "expected a whole number, found \(YAMLReader.kind(of: node))")
            return nil
        }
        guard range.contains(value) else {
            report(.invalidValue, node, path, "\(value) is out of range \(range.lowerBound)...\(range.upperBound)")
            return nil
        }
        return value
    }

    mutating func double(_ node: Node, _ path: String, in range: ClosedRange<Double>) -> Double? {
        let value: Double? = YAMLReader.has(node, .int) ? node.int.map(Double.init)
            : YAMLReader.has(node, .float) ? node.float : nil
        guard let value, value.isFinite else {
            report(.wrongType, node, path, "expected a number, found \(YAMLReader.kind(of: node))")
            return nil
        }
        guard range.contains(value) else {
            report(.invalidValue, node, path, "\(value) is out of range \(range.lowerBound)...\(range.upperBound)")
            return nil
        }
        return value
    }

    /// A closed word set (`action`, `mode`, …), reported as "unknown <noun> 'x' (expected one of …)".
    mutating func word<E: RawRepresentable & CaseIterable>(_ node: Node, _ path: String, _ noun: String, as: E.Type) -> E?
    where E.RawValue == String {
        guard let text = string(node, path) else { return nil }
        if let value = E(rawValue: text) { return value }
        let all = E.allCases.map(\.rawValue)
        let hint = YAMLReader.suggestion(for: text, among: all).map { "did you mean '\($0)'? " } ?? ""
        report(.invalidValue, node, path, "unknown \(noun) '\(text)' (\(hint)expected one of \(all.joined(separator: ", ")))")
        return nil
    }

    /// A list of texts each checked by `valid`, reported with `what` ("region pattern").
    mutating func strings(_ node: Node, _ path: String, _ what: String, hint: String? = nil, nonEmpty: Bool = true,
                          valid: (String) -> Bool = { !$0.isEmpty }) -> [String]? {
        guard let list = items(node, path) else { return nil }
        if nonEmpty && list.isEmpty {
            report(.invalidValue, node, path, "empty list (it would never match)")
            return nil
        }
        var out: [String] = []
        var ok = true
        for (item, itemPath) in list {
            guard let text = string(item, itemPath) else { ok = false; continue }
            guard valid(text) else {
                report(.invalidValue, item, itemPath, "invalid \(what) '\(text)'" + (hint.map { " (\($0))" } ?? ""))
                ok = false
                continue
            }
            out.append(text)
        }
        return ok ? out : nil
    }

    // MARK: Helpers

    /// Whether the resolved tag is `name` (Yams 5 keeps `Tag.name` internal; `Tag ==` compares names).
    static func has(_ node: Node, _ name: Tag.Name) -> Bool { node.tag == Tag(name) }

    /// `[a-z0-9][a-z0-9._-]*`, at most 64 characters: policy names, rule ids, provider names.
    static func isSlug(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard let first = bytes.first, bytes.count <= 64, isLowerAlnum(first) else { return false }
        return bytes.allSatisfy { isLowerAlnum($0) || $0 == 0x2E || $0 == 0x5F || $0 == 0x2D }
    }

    private static func isLowerAlnum(_ b: UInt8) -> Bool { (b >= 0x61 && b <= 0x7A) || (b >= 0x30 && b <= 0x39) }

    /// The closest candidate within edit distance 2, to turn typos into "did you mean".
    static func suggestion(for word: String, among candidates: [String]) -> String? {
        var best: (String, Int)?
        for c in candidates {
            let d = editDistance(word.lowercased(), c.lowercased())
            if d <= 2, d < (best?.1 ?? .max) { best = (c, d) }
        }
        return best?.0
    }

    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a.utf8), b = Array(b.utf8)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}
