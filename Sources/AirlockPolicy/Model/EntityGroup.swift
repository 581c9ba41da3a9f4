import AirlockCore

/// Named sets of entity types a rule can use instead of listing every type. Written in
/// lower case in YAML so they never collide with entity names (upper case).
public enum EntityGroup: String, Sendable, Codable, CaseIterable, CustomStringConvertible {
    /// Every entity type.
    case all
    /// Credentials and keys (`EntityType.isSecret`).
    case secrets
    /// Everything that is not a secret: data about a person.
    case personal
    /// Government-issued identifiers (SSN, RRN, FRN, passports, licences, CN/JP ids).
    case nationalIDs = "national_ids"
    /// Names, e-mail, phone, addresses, dates of birth.
    case contact
    /// Cards, IBANs, crypto wallets.
    case financial
    /// IP and MAC addresses, URLs.
    case network

    public var members: Set<EntityType> {
        switch self {
        case .all: Set(EntityType.allCases)
        case .secrets: Set(EntityType.allCases.filter(\.isSecret))
        case .personal: Set(EntityType.allCases.filter { !$0.isSecret })
        case .nationalIDs: [.usSSN, .usPassport, .krRRN, .krFRN, .krPassport, .krDriverLicense, .cnResidentID, .jpMyNumber]
        case .contact: [.emailAddress, .phoneNumber, .person, .location, .streetAddress, .dateOfBirth]
        case .financial: [.creditCard, .ibanCode, .crypto]
        case .network: [.ipAddress, .macAddress, .url]
        }
    }

    public var description: String { rawValue }
}
