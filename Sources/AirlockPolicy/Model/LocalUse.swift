/// Whether the in-process engine (region `local`) may, should or must answer.
///
/// Local inference never moves data off the host, so destination lists never exclude it;
/// only `forbidden` does. Combining rules: `required` and `forbidden` together leave no
/// destination (the request fails with 451); otherwise `required > forbidden > preferred > allowed`.
public enum LocalUse: String, Sendable, Codable, CaseIterable, CustomStringConvertible {
    /// The engine is the last failover candidate, after every permitted remote provider.
    case allowed
    /// The engine is tried first, remote providers after it.
    case preferred
    /// Only the engine; no remote provider is permitted.
    case required
    /// Never the engine (e.g. a use case that needs a frontier model).
    case forbidden

    public var description: String { rawValue }

    static let spelledOut = allCases.map(\.rawValue).joined(separator: ", ")
}
