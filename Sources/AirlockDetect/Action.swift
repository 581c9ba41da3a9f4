import AirlockCore

/// What to do with a finding. The policy engine chooses per type; `defaultAction(for:)` is the
/// built-in fallback.
public enum Action: String, Sendable, CaseIterable, Codable, Hashable {
    case allow, redact, mask, hash, pseudonymize, block

    /// Secrets never leave; personal data is pseudonymized (restored in the answer); URLs and
    /// IP addresses pass unless a policy says otherwise.
    public static func defaultAction(for type: EntityType) -> Action {
        if type.isSecret { return .redact }
        switch type {
        case .url, .location: return .allow
        default: return .pseudonymize
        }
    }

    /// The action applied to model output: pseudonyms were already restored (the user's own
    /// data), a stream cannot be blocked halfway, so both become allow/redact.
    public var forOutput: Action {
        switch self {
        case .pseudonymize: return .allow
        case .block: return .redact
        default: return self
        }
    }
}
