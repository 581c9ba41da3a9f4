import Foundation
/// Splits a migration file into statements. PostgreSQL's extended protocol (all PostgresNIO
/// speaks) takes one statement per query, so the file is cut at top-level semicolons,
/// respecting quotes, dollar-quoted bodies and comments.
public enum SQLScript {
    public static func statements(_ sql: String) -> [String] {
        let s = Array(sql.utf8)
        var statements: [String] = []
        var start = 0
        var i = 0
        func flush(_ end: Int) {
            let text = String(decoding: s[start..<end], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            if !text.isEmpty && !isOnlyComments(text) { statements.append(text) }
        }
        while i < s.count {
            let c = s[i]
            if c == UInt8(ascii: "-"), i + 1 < s.count, s[i + 1] == UInt8(ascii: "-") {
                while i < s.count, s[i] != 0x0A { i += 1 }
            } else if c == UInt8(ascii: "/"), i + 1 < s.count, s[i + 1] == UInt8(ascii: "*") {
                i += 2
                while i + 1 < s.count, !(s[i] == UInt8(ascii: "*") && s[i + 1] == UInt8(ascii: "/")) { i += 1 }
                i += 2
            } else if c == UInt8(ascii: "'") || c == UInt8(ascii: "\"") {
                i += 1
                while i < s.count {
                    if s[i] == c {
                        if i + 1 < s.count, s[i + 1] == c { i += 2; continue }  // doubled quote
                        break
                    }
                    i += 1
                }
                i += 1
            } else if c == UInt8(ascii: "$"), let tagEnd = dollarTagEnd(s, from: i) {
                let tag = s[i...tagEnd]
                i = tagEnd + 1
                while i < s.count {
                    if s[i] == UInt8(ascii: "$"), i + tag.count <= s.count, s[i..<(i + tag.count)].elementsEqual(tag) {
                        i += tag.count
                        break
                    }
                    i += 1
                }
            } else if c == UInt8(ascii: ";") {
                flush(i)
                i += 1
                start = i
            } else {
                i += 1
            }
        }
        if start < s.count { flush(s.count) }
        return statements
    }

    /// `$tag$` or `$$` starting at `i`; returns the index of the closing `$` of the tag.
    static func dollarTagEnd(_ s: [UInt8], from i: Int) -> Int? {
        var j = i + 1
        while j < s.count {
            let c = s[j]
            if c == UInt8(ascii: "$") { return j }
            let isIdent = (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x5F || (j > i + 1 && c >= 0x30 && c <= 0x39)
            if !isIdent { return nil }
            j += 1
        }
        return nil
    }

    static func isOnlyComments(_ text: String) -> Bool {
        text.split(separator: "\n").allSatisfy { $0.trimmingCharacters(in: .whitespaces).hasPrefix("--") || $0.trimmingCharacters(in: .whitespaces).isEmpty }
    }
}
