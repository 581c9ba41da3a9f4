import Foundation

/// What the console overview shows for a time range (optionally one tenant): the same totals
/// as `airlock audit report` (`report`), calls per time bucket and decision, and usage per
/// tenant. Built by `AuditRollupReader` from rollups where they are proven current and from
/// `audit_events` elsewhere; `source` says which parts were read how.
public struct AuditOverview: Sendable, Equatable {
    public struct Bucket: Sendable, Equatable, Hashable {
        public var start: Date
        public var decision: String
        public var calls: Int
    }

    public struct TenantLine: Sendable, Equatable, Hashable {
        public var tenant: String
        public var calls: Int
        public var promptTokens: Int
        public var completionTokens: Int
        public var costUSD: Double
        public var avoidedUSD: Double
    }

    public var report: AuditReport
    public var buckets: [Bucket] = []
    /// Most expensive first (then most calls).
    public var tenants: [TenantLine] = []
    public var source = AuditRollupPlan()

    public init(report: AuditReport) {
        self.report = report
    }
}
