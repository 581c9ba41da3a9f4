/// A data-residency region: an ISO 3166 country code, optionally with a cloud region
/// (`kr`, `us-east`, `eu-west`, `cn`), or `local` for this host.
public struct Region: Sendable, Hashable, Codable, CustomStringConvertible, Comparable {
    public let value: String

    public init(_ value: String) { self.value = value.lowercased() }

    public static let local = Region("local")

    /// The country or bloc part (`us` for `us-east`).
    public var country: String { String(value.split(separator: "-", maxSplits: 1).first ?? "") }

    /// `eu-*` style patterns; `*` matches anything, `kr` matches `kr` and `kr-*`.
    public func matches(_ pattern: String) -> Bool {
        let p = pattern.lowercased()
        if p == "*" { return true }
        if p.hasSuffix("-*") { return country == String(p.dropLast(2)) }
        return value == p || country == p && value.hasPrefix(p + "-")
    }

    public var description: String { value }

    public init(from decoder: any Decoder) throws { self.init(try decoder.singleValueContainer().decode(String.self)) }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(value)
    }
    public static func < (lhs: Region, rhs: Region) -> Bool { lhs.value < rhs.value }
}
