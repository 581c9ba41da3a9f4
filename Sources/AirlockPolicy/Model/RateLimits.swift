/// Per-tenant budgets; the gateway answers 429 past them. `nil` means unlimited.
public struct RateLimits: Sendable, Hashable, Codable {
    public var requestsPerMinute: Int?
    public var tokensPerDay: Int?

    public init(requestsPerMinute: Int? = nil, tokensPerDay: Int? = nil) {
        self.requestsPerMinute = requestsPerMinute
        self.tokensPerDay = tokensPerDay
    }

    public static let unlimited = RateLimits()

    enum CodingKeys: String, CodingKey {
        case requestsPerMinute = "requests_per_minute", tokensPerDay = "tokens_per_day"
    }
}
