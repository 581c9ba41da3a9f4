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

    /// What the gateway does to the model's own output: credentials it produces are redacted,
    /// everything else (restored pseudonyms included) passes.
    public static func forModelOutput(_ type: EntityType) -> Action { type.isSecret ? .redact : .allow }

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

/// A configurable action per entity type (the gateway's default until the policy engine
/// decides), e.g. from a config file: `["EMAIL_ADDRESS": "redact", "URL": "allow"]`.
public struct ActionTable: Sendable, Equatable {
    public var actions: [EntityType: Action]
    /// Used for types the table does not mention.
    public var fallback: @Sendable (EntityType) -> Action

    public init(_ actions: [EntityType: Action] = [:], fallback: @escaping @Sendable (EntityType) -> Action = Action.defaultAction(for:)) {
        self.actions = actions
        self.fallback = fallback
    }

    /// Parses `TYPE -> action` names; unknown types or actions are reported by name (they are
    /// configuration, not user data).
    public init(names: [String: String]) throws(ActionTableError) {
        var a: [EntityType: Action] = [:]
        for (k, v) in names {
            guard let t = EntityType(rawValue: k) else { throw ActionTableError(message: "unknown entity type \(k)") }
            guard let act = Action(rawValue: v) else { throw ActionTableError(message: "unknown action \(v) for \(k)") }
            a[t] = act
        }
        self.init(a)
    }

    public func action(for type: EntityType) -> Action { actions[type] ?? fallback(type) }

    public static func == (l: ActionTable, r: ActionTable) -> Bool {
        EntityType.allCases.allSatisfy { l.action(for: $0) == r.action(for: $0) }
    }
}

public struct ActionTableError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
