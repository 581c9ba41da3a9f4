/// A readable line diff between two versions of a policy's YAML, for `airlock policy diff`.
/// Longest-common-subsequence based, after trimming the common head and tail (policies are
/// small, so the quadratic middle is cheap).
public struct PolicyDiff: Sendable, Hashable {
    public enum Kind: Sendable, Hashable { case same, removed, added }

    public struct Line: Sendable, Hashable {
        public var kind: Kind
        public var text: String
        /// 1-based line in the old text (nil for added lines).
        public var oldLine: Int?
        /// 1-based line in the new text (nil for removed lines).
        public var newLine: Int?
    }

    public let lines: [Line]

    public init(old: String, new: String) {
        let a = PolicyDiff.split(old), b = PolicyDiff.split(new)
        var head = 0
        while head < a.count && head < b.count && a[head] == b[head] { head += 1 }
        var tail = 0
        while tail < a.count - head && tail < b.count - head && a[a.count - 1 - tail] == b[b.count - 1 - tail] { tail += 1 }
        let am = Array(a[head..<(a.count - tail)]), bm = Array(b[head..<(b.count - tail)])

        // lcs[i][j] = LCS length of am[i...] and bm[j...].
        var lcs = [[Int32]](repeating: [Int32](repeating: 0, count: bm.count + 1), count: am.count + 1)
        if !am.isEmpty && !bm.isEmpty {
            for i in stride(from: am.count - 1, through: 0, by: -1) {
                for j in stride(from: bm.count - 1, through: 0, by: -1) {
                    lcs[i][j] = am[i] == bm[j] ? lcs[i + 1][j + 1] + 1 : max(lcs[i + 1][j], lcs[i][j + 1])
                }
            }
        }
        var out: [Line] = []
        for k in 0..<head { out.append(Line(kind: .same, text: a[k], oldLine: k + 1, newLine: k + 1)) }
        var i = 0, j = 0
        while i < am.count || j < bm.count {
            if i < am.count && j < bm.count && am[i] == bm[j] {
                out.append(Line(kind: .same, text: am[i], oldLine: head + i + 1, newLine: head + j + 1))
                i += 1; j += 1
            } else if j < bm.count && (i == am.count || lcs[i][j + 1] >= lcs[i + 1][j]) {
                out.append(Line(kind: .added, text: bm[j], oldLine: nil, newLine: head + j + 1))
                j += 1
            } else {
                out.append(Line(kind: .removed, text: am[i], oldLine: head + i + 1, newLine: nil))
                i += 1
            }
        }
        for k in 0..<tail {
            out.append(Line(kind: .same, text: a[a.count - tail + k], oldLine: a.count - tail + k + 1, newLine: b.count - tail + k + 1))
        }
        // Removals before additions inside a change reads better; the walk above prefers additions.
        lines = PolicyDiff.groupChanges(out)
    }

    public var hasChanges: Bool { lines.contains { $0.kind != .same } }
    public var added: Int { lines.filter { $0.kind == .added }.count }
    public var removed: Int { lines.filter { $0.kind == .removed }.count }

    /// Unified diff (`---`/`+++`, `@@ -a,b +c,d @@` hunks with `context` lines around changes);
    /// empty when the texts are equal.
    public func unified(oldName: String = "old", newName: String = "new", context: Int = 3) -> String {
        guard hasChanges else { return "" }
        var out = ["--- \(oldName)", "+++ \(newName)"]
        let changed = lines.indices.filter { lines[$0].kind != .same }
        var hunks: [ClosedRange<Int>] = []
        for c in changed {
            let r = max(0, c - context)...min(lines.count - 1, c + context)
            if let last = hunks.last, r.lowerBound <= last.upperBound + 1 {
                hunks[hunks.count - 1] = last.lowerBound...max(last.upperBound, r.upperBound)
            } else {
                hunks.append(r)
            }
        }
        for h in hunks {
            let slice = lines[h]
            let oldStart = slice.first { $0.oldLine != nil }?.oldLine ?? 0
            let newStart = slice.first { $0.newLine != nil }?.newLine ?? 0
            let oldCount = slice.filter { $0.kind != .added }.count
            let newCount = slice.filter { $0.kind != .removed }.count
            out.append("@@ -\(oldCount == 0 ? max(0, oldStart - 1) : oldStart),\(oldCount) +\(newCount == 0 ? max(0, newStart - 1) : newStart),\(newCount) @@")
            for l in slice {
                let sign = l.kind == .same ? " " : l.kind == .added ? "+" : "-"
                out.append(sign + l.text)
            }
        }
        return out.joined(separator: "\n") + "\n"
    }

    private static func split(_ text: String) -> [String] {
        // "\r\n" is one Character in Swift, so match it as a separator of its own.
        var lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }).map(String.init)
        if lines.last == "" { lines.removeLast() }  // a final newline is not an extra empty line
        return lines
    }

    private static func groupChanges(_ lines: [Line]) -> [Line] {
        var out: [Line] = []
        var i = 0
        while i < lines.count {
            guard lines[i].kind != .same else { out.append(lines[i]); i += 1; continue }
            var j = i
            while j < lines.count && lines[j].kind != .same { j += 1 }
            let run = lines[i..<j]
            out += run.filter { $0.kind == .removed } + run.filter { $0.kind == .added }
            i = j
        }
        return out
    }
}
