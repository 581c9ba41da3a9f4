import Foundation

/// How a range [from, to) is read: complete days from the daily rollups, whole hours from the
/// hourly rollups, the rest (today's open hour, days not rolled up or no longer proven
/// current) live from `audit_events`. Rollup rows are only used where each of them falls in
/// exactly one chart bucket, so bucketed counts stay exact.
public struct AuditRollupPlan: Sendable, Equatable {
    public var days: [Date] = []
    public var hours: [Span] = []
    public var live: [Span] = []

    public struct Span: Sendable, Equatable {
        public var from: Date
        public var to: Date
    }

    public init() {}

    static let hour: Int64 = 3_600
    static let day: Int64 = 86_400

    /// `coverage`: day start → end of its proven-current rollups (whole hours, ≤ next day).
    public static func make(from: Date, to: Date, bucketSeconds: Int, coverage: [Date: Date]) -> AuditRollupPlan {
        var plan = AuditRollupPlan()
        guard from < to else { return plan }
        let f = from.timeIntervalSince1970, bucket = Int64(bucketSeconds)
        // Hour rows fit the chart's buckets only if bucket edges fall on whole hours.
        let bucketable = bucket > 0 && bucket % hour == 0 && f == f.rounded(.down) && Int64(f) % hour == 0
        guard bucketable, !coverage.isEmpty else {
            plan.live = [Span(from: from, to: to)]
            return plan
        }
        let origin = Int64(f)
        var dayStart = floorDiv(origin, day) * day
        while Double(dayStart) < to.timeIntervalSince1970 {
            let dayEnd = dayStart + day
            let s = Date(timeIntervalSince1970: Double(max(origin, dayStart)))
            let e = min(to, Date(timeIntervalSince1970: Double(dayEnd)))
            if let upto = coverage[Date(timeIntervalSince1970: Double(dayStart))] {
                // Whole hours only: an hour row cannot be cut at a range end inside it.
                let ceHour = Date(timeIntervalSince1970: Double(floorDiv(Int64(e.timeIntervalSince1970.rounded(.down)), hour) * hour))
                let ce = min(ceHour, upto)
                if s < ce {
                    if s.timeIntervalSince1970 == Double(dayStart) && ce.timeIntervalSince1970 == Double(dayEnd)
                        && bucket % day == 0 && (dayStart - origin) % day == 0 {
                        plan.days.append(s)
                    } else {
                        append(&plan.hours, Span(from: s, to: ce))
                    }
                    if ce < e { append(&plan.live, Span(from: ce, to: e)) }
                } else {
                    append(&plan.live, Span(from: s, to: e))
                }
            } else {
                append(&plan.live, Span(from: s, to: e))
            }
            dayStart = dayEnd
        }
        return plan
    }

    /// Appends, joining a span that starts where the last one ended.
    static func append(_ spans: inout [Span], _ span: Span) {
        if let last = spans.last, last.to == span.from { spans[spans.count - 1].to = span.to } else { spans.append(span) }
    }

    static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 { a >= 0 ? a / b : (a - b + 1) / b }
}
