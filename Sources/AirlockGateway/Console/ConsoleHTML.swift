import Foundation

/// Escaping and URL helpers for server-rendered pages. Every value that reaches a page goes
/// through `escape` (text and attribute values alike, quotes included).
enum ConsoleHTML {
    static func escape(_ text: String) -> String {
        var needs = false
        for b in text.utf8 where b == UInt8(ascii: "&") || b == UInt8(ascii: "<") || b == UInt8(ascii: ">") || b == UInt8(ascii: "\"") || b == UInt8(ascii: "'") {
            needs = true
            break
        }
        guard needs else { return text }
        var out = ""
        out.reserveCapacity(text.utf8.count + 16)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// Characters left as-is in query components (RFC 3986 unreserved).
    static let unreserved: CharacterSet = {
        var s = CharacterSet()
        s.insert(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
        return s
    }()

    static func percentEncode(_ value: String) -> String {
        value.addingPercentEncoding(withAllowedCharacters: unreserved) ?? ""
    }

    /// `path?k=v&…` with empty values left out; the result still needs `escape` inside HTML.
    static func url(_ path: String, _ query: [(String, String?)]) -> String {
        let parts = query.compactMap { k, v -> String? in
            guard let v, !v.isEmpty else { return nil }
            return percentEncode(k) + "=" + percentEncode(v)
        }
        return parts.isEmpty ? path : path + "?" + parts.joined(separator: "&")
    }

    /// `href="…"` ready to paste into a tag.
    static func href(_ path: String, _ query: [(String, String?)] = []) -> String {
        "href=\"" + escape(url(path, query)) + "\""
    }

    static func money(_ v: Double) -> String { String(format: "$%.4f", v) }

    static func count(_ n: Int) -> String {
        var s = String(n)
        var i = s.count - 3
        while i > 0 { s.insert(",", at: s.index(s.startIndex, offsetBy: i)); i -= 3 }
        return s
    }

    /// Large counts for stat tiles: `601.98M`, `12.40k`; exact below 100,000.
    static func compact(_ n: Int) -> String {
        if n >= 1_000_000_000 { return String(format: "%.2fG", Double(n) / 1e9) }
        if n >= 1_000_000 { return String(format: "%.2fM", Double(n) / 1e6) }
        if n >= 100_000 { return String(format: "%.1fk", Double(n) / 1e3) }
        return count(n)
    }

    /// `YYYY-MM-DD HH:MM:SS` UTC.
    static func timestamp(_ date: Date) -> String {
        var cal = Calendar(identifier: .gregorian)
        cal.timeZone = TimeZone(identifier: "UTC")!
        let c = cal.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        return String(format: "%04d-%02d-%02d %02d:%02d:%02d", c.year ?? 0, c.month ?? 0, c.day ?? 0, c.hour ?? 0, c.minute ?? 0, c.second ?? 0)
    }
}

/// `application/x-www-form-urlencoded` bodies and query strings.
struct ConsoleForm: Sendable {
    private(set) var values: [String: [String]] = [:]

    init(_ encoded: String?) {
        guard let encoded, !encoded.isEmpty else { return }
        for pair in encoded.split(separator: "&", omittingEmptySubsequences: true) {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let k = Self.decode(kv[0]) else { continue }
            let v = kv.count > 1 ? Self.decode(kv[1]) : ""
            guard let v else { continue }
            values[k, default: []].append(v)
        }
    }

    static func decode(_ part: Substring) -> String? {
        String(part).replacingOccurrences(of: "+", with: " ").removingPercentEncoding
    }

    /// The first value, trimmed; nil when absent or blank.
    subscript(_ key: String) -> String? {
        guard let v = values[key]?.first?.trimmingCharacters(in: .whitespacesAndNewlines), !v.isEmpty else { return nil }
        return v
    }

    /// The first value untrimmed (text areas).
    func raw(_ key: String) -> String? { values[key]?.first }
}

/// Dates typed into filters: `2026-11-01`, `2026-11-01T08:00` (a datetime-local input), or ISO 8601.
enum ConsoleDates {
    static func parse(_ text: String?) -> Date? {
        guard let text, !text.isEmpty else { return nil }
        let iso = ISO8601DateFormatter()
        if let d = iso.date(from: text) { return d }
        if let d = iso.date(from: text + ":00Z") { return d }  // 2026-11-01T08:00
        if let d = iso.date(from: text + "Z") { return d }     // 2026-11-01T08:00:00
        iso.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let d = iso.date(from: text) { return d }
        iso.formatOptions = [.withFullDate]
        return iso.date(from: text)
    }

    /// The value for a datetime-local input (`YYYY-MM-DDTHH:MM`, UTC).
    static func inputValue(_ date: Date?) -> String {
        guard let date else { return "" }
        let s = ConsoleHTML.timestamp(date)
        return String(s.prefix(16)).replacingOccurrences(of: " ", with: "T")
    }
}
