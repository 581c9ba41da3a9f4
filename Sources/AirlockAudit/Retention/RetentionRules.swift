/// How long each tenant's audit data is kept: from its active policy's `retention`
/// (`audit_days`, `payload_days`), with a default for tenants without one.
public struct RetentionRules: Sendable, Equatable {
    public struct Days: Sendable, Equatable {
        public var auditDays: Int
        public var payloadDays: Int
        public init(auditDays: Int, payloadDays: Int) {
            self.auditDays = auditDays
            self.payloadDays = payloadDays
        }
    }

    public var defaults: Days
    public var tenants: [String: Days]

    public init(defaults: Days = Days(auditDays: 90, payloadDays: 0), tenants: [String: Days] = [:]) {
        self.defaults = defaults
        self.tenants = tenants
    }

    public func days(for tenant: String) -> Days { tenants[tenant] ?? defaults }
}
