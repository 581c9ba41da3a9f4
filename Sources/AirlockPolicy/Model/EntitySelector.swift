import AirlockCore

/// One item of a rule's `entities:` list: an entity type (`KR_RRN`) or a group (`secrets`).
public enum EntitySelector: Sendable, Hashable, Codable, CustomStringConvertible {
    case entity(EntityType)
    case group(EntityGroup)

    /// Parses YAML spelling: upper-case entity names, lower-case group names.
    public init?(_ text: String) {
        if let e = EntityType(rawValue: text) {
            self = .entity(e)
        } else if let g = EntityGroup(rawValue: text) {
            self = .group(g)
        } else {
            return nil
        }
    }

    public var members: Set<EntityType> {
        switch self {
        case .entity(let e): [e]
        case .group(let g): g.members
        }
    }

    public var description: String {
        switch self {
        case .entity(let e): e.rawValue
        case .group(let g): g.rawValue
        }
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let s = EntitySelector(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "unknown entity or group"))
        }
        self = s
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}
