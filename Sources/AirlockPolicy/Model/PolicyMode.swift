/// `shadow` policies are evaluated and recorded but not enforced: the caller keeps applying
/// the previous enforced version (see `ShadowEvaluation`).
public enum PolicyMode: String, Sendable, Codable, CaseIterable, CustomStringConvertible {
    case enforce
    case shadow

    public var description: String { rawValue }
}
