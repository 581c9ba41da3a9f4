/// A data-residency region: an ISO 3166 country code, optionally with a cloud region
/// (`kr`, `us-east`, `eu-west`, `cn`), or `local` for this host.
public struct Region: Sendable, Hashable, Codable, CustomStringConvertible, Comparable {
    public let value: String

    public init(_ value: String) { self.value = value.lowercased() }

    public static let local = Region("local")

    /// The country or bloc part (`us` for `us-east`).
    public var country: String { String(value.split(separator: "-", maxSplits: 1).first ?? "") }

    /// What a region pattern names, the one grammar for policies and audit filters: `*` any
    /// region; a country or bloc (`kr`, also written `kr-*`) itself and its regions (`kr-seoul`);
    /// an exact region (`us-east`) or `local` only itself.
    public enum Pattern: Sendable, Equatable {
        case any
        case exact(String)
        case family(String)

        public init(_ raw: String) {
            let p = raw.lowercased()
            if p == "*" {
                self = .any
            } else if p.hasSuffix("-*") {
                self = .family(String(p.dropLast(2)))
            } else if p.contains("-") || p == "local" {
                self = .exact(p)
            } else {
                self = .family(p)
            }
        }
    }

    /// `eu-*` style patterns; `*` matches anything, `kr` matches `kr` and `kr-*`.
    public func matches(_ pattern: String) -> Bool {
        switch Pattern(pattern) {
        case .any: return true
        case .exact(let p): return value == p
        case .family(let c): return country == c
        }
    }

    public var description: String { value }

    public init(from decoder: any Decoder) throws { self.init(try decoder.singleValueContainer().decode(String.self)) }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(value)
    }
    public static func < (lhs: Region, rhs: Region) -> Bool { lhs.value < rhs.value }
}
