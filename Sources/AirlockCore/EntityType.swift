/// The kinds of personal data and secrets Airlock recognises. Names follow Presidio where
/// Presidio has one, so reports read the same across tools.
public enum EntityType: String, Sendable, CaseIterable, Codable, Hashable, Comparable {
    // Contact
    case emailAddress = "EMAIL_ADDRESS"
    case phoneNumber = "PHONE_NUMBER"
    case person = "PERSON"
    case location = "LOCATION"
    case streetAddress = "STREET_ADDRESS"
    case dateOfBirth = "DATE_OF_BIRTH"
    // Payment
    case creditCard = "CREDIT_CARD"
    case ibanCode = "IBAN_CODE"
    case crypto = "CRYPTO"
    // National identifiers
    case usSSN = "US_SSN"
    case usPassport = "US_PASSPORT"
    case krRRN = "KR_RRN"
    case krFRN = "KR_FRN"
    case krBRN = "KR_BRN"
    case krPassport = "KR_PASSPORT"
    case krDriverLicense = "KR_DRIVER_LICENSE"
    case cnResidentID = "CN_RESIDENT_ID"
    case jpMyNumber = "JP_MY_NUMBER"
    // Network
    case ipAddress = "IP_ADDRESS"
    case macAddress = "MAC_ADDRESS"
    case url = "URL"
    // Secrets
    case awsAccessKey = "AWS_ACCESS_KEY"
    case githubToken = "GITHUB_TOKEN"
    case openAIAPIKey = "OPENAI_API_KEY"
    case anthropicAPIKey = "ANTHROPIC_API_KEY"
    case slackToken = "SLACK_TOKEN"
    case stripeKey = "STRIPE_KEY"
    case googleAPIKey = "GOOGLE_API_KEY"
    case jwt = "JWT"
    case privateKey = "PRIVATE_KEY"
    case genericSecret = "GENERIC_SECRET"

    public static func < (lhs: EntityType, rhs: EntityType) -> Bool { lhs.rawValue < rhs.rawValue }

    /// Hashes the case, not the raw-value string (the default for raw-value enums): the
    /// scanner, policy and vault key dictionaries by type on every finding.
    public func hash(into hasher: inout Hasher) { hasher.combine(ordinal) }

    /// The case's position in `allCases` (a no-payload enum is stored as its case index).
    var ordinal: UInt8 { unsafeBitCast(self, to: UInt8.self) }

    /// Credentials rather than personal data; policies usually block these outright.
    public var isSecret: Bool {
        switch self {
        case .awsAccessKey, .githubToken, .openAIAPIKey, .anthropicAPIKey, .slackToken, .stripeKey,
             .googleAPIKey, .jwt, .privateKey, .genericSecret:
            return true
        default:
            return false
        }
    }
}
