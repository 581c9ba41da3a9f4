import AirlockCore

/// The remote regions a request may go to: `*`, countries or blocs (`kr`, `eu`, written
/// `eu-*` too) and exact cloud regions (`us-east`). Kept normalised and symbolic so the
/// intersection of several rules reads well in a decision (`kr` ∩ `*` = `kr`).
///
/// The host (`local`) is not a member: local inference never moves data, so it is governed
/// by `LocalUse` alone. A `local` entry in a destination list is accepted and dropped here.
public struct RegionSet: Sendable, Hashable, Codable, CustomStringConvertible {
    /// `["*"]`, or sorted countries (`kr`) and exact regions (`us-east`); empty means none.
    public let patterns: [String]

    public static let all = RegionSet(normalized: ["*"])
    public static let none = RegionSet(normalized: [])

    private init(normalized: [String]) { patterns = normalized }

    /// Accepts YAML spellings, read with the one region-pattern grammar (`Region.Pattern`);
    /// unknown shapes are the loader's business (`isValidPattern`).
    public init<S: Sequence>(_ items: S) where S.Element == String {
        var raw = Set<String>()
        for item in items {
            switch Region.Pattern(item) {
            case .any: raw.insert("*")
            case .family(let country): raw.insert(country)
            case .exact(let region): if region != Region.local.value { raw.insert(region) }
            }
        }
        self.init(normalized: RegionSet.normalize(raw))
    }

    public var isAll: Bool { patterns.first == "*" }
    public var isEmpty: Bool { patterns.isEmpty }

    /// Same meaning as `Region.matches` (each stored pattern is a `Region.Pattern` in its
    /// normal spelling: `*`, a country, or an exact region), without allocating: it runs per
    /// rule per request.
    public func contains(_ region: Region) -> Bool {
        let v = region.value
        if v == Region.local.value { return false }
        for p in patterns {
            if p == "*" || p == v { return true }
            let pu = p.utf8
            if !pu.contains(UInt8(ascii: "-")) && v.utf8.starts(with: pu) && v.utf8.dropFirst(pu.count).first == UInt8(ascii: "-") {
                return true  // country `kr` covers `kr-seoul`
            }
        }
        return false
    }

    public func union(_ other: RegionSet) -> RegionSet {
        RegionSet(normalized: RegionSet.normalize(Set(patterns).union(other.patterns)))
    }

    public func intersection(_ other: RegionSet) -> RegionSet {
        if isAll { return other }
        if other.isAll { return self }
        var out = Set<String>()
        for a in patterns {
            for b in other.patterns {
                if a == b {
                    out.insert(a)
                } else if !RegionSet.isExact(a), RegionSet.country(of: b) == a {
                    out.insert(b)  // `kr` ∩ `kr-seoul`
                } else if !RegionSet.isExact(b), RegionSet.country(of: a) == b {
                    out.insert(a)
                }
            }
        }
        return RegionSet(normalized: RegionSet.normalize(out))
    }

    public var description: String { isEmpty ? "(none)" : patterns.joined(separator: ", ") }

    /// `*`, `local`, `xx`, `xx-*` or `xx-name[-name…]` with lower-case letters and digits.
    public static func isValidPattern(_ text: String) -> Bool {
        if text == "*" || text == Region.local.value { return true }
        if text.hasSuffix("-*") { return isValidRegion(String(text.dropLast(2))) && !isExact(String(text.dropLast(2))) }
        return isValidRegion(text)
    }

    /// A concrete region: `xx` or `xx-name[-name…]` (ISO 3166 alpha-2 first).
    public static func isValidRegion(_ text: String) -> Bool {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard let first = parts.first, first.utf8.count == 2, first.utf8.allSatisfy({ $0 >= 0x61 && $0 <= 0x7A }) else { return false }
        for part in parts.dropFirst() {
            guard !part.isEmpty, part.utf8.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) }) else { return false }
        }
        return true
    }

    private static func isExact(_ p: String) -> Bool { p.contains("-") }
    private static func country(of p: String) -> String { Region(p).country }

    private static func normalize(_ raw: Set<String>) -> [String] {
        if raw.contains("*") { return ["*"] }
        let countries = raw.filter { !isExact($0) }
        return raw.filter { !isExact($0) || !countries.contains(country(of: $0)) }.sorted()
    }

    public init(from decoder: any Decoder) throws { self.init(try decoder.singleValueContainer().decode([String].self)) }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(patterns)
    }
}
