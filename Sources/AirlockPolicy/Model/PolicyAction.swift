/// What happens to one finding before the request leaves the host.
///
/// Actions are ordered by how little of the value reaches a provider, so combining rules is
/// a `max`: `block > redact > hash > pseudonymize > mask > allow`.
/// - `redact` sends only the entity type (`<EMAIL_ADDRESS>`).
/// - `hash` sends a keyed fingerprint: irreversible, but stable, so calls can be linked.
/// - `pseudonymize` sends a surrogate that the host can map back (the vault), so the answer
///   is restored; reversible on the host, hence weaker than `hash`.
/// - `mask` sends part of the value (`****-1234`).
public enum PolicyAction: String, Sendable, Codable, CaseIterable, Comparable, CustomStringConvertible {
    case allow
    case mask
    case pseudonymize
    case hash
    case redact
    case block

    /// 0 for `allow` up to 5 for `block`; the combination order.
    public var restrictiveness: Int {
        switch self {
        case .allow: 0
        case .mask: 1
        case .pseudonymize: 2
        case .hash: 3
        case .redact: 4
        case .block: 5
        }
    }

    public static func < (lhs: PolicyAction, rhs: PolicyAction) -> Bool { lhs.restrictiveness < rhs.restrictiveness }

    public var description: String { rawValue }

    /// Listed as YAML spells them, least to most restrictive (used in error messages).
    static let spelledOut = allCases.map(\.rawValue).joined(separator: ", ")
}
