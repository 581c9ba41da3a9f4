import AirlockCore
import Foundation
import PostgresNIO
import Testing
@testable import AirlockAudit

/// The console overview read through rollups must give the same numbers as aggregating
/// `audit_events` directly, for any range, before and after late inserts and retention.
@Suite("Overview rollups", .enabled(if: TestDatabase.available, "set AIRLOCK_TEST_DATABASE_URL to run database tests"))
struct RollupTests {
    static let key = try! AuditKey(encoded: String(repeating: "ef", count: 32))
    static let hour: TimeInterval = 3_600
    static let day: TimeInterval = 86_400

    static func floorTo(_ d: Date, _ unit: TimeInterval) -> Date {
        Date(timeIntervalSince1970: (d.timeIntervalSince1970 / unit).rounded(.down) * unit)
    }

    /// Tenants a, b, c; events every ~5 h 17 min from 9 days ago until a few minutes ago
    /// (so every day has events at several hours, and today has some in the open hour).
    static func seed(_ box: PostgresClientBox, now: Date) async throws -> Int {
        var config = AuditWriterConfiguration(chainID: "gw", spoolDirectory: SpoolTests.tempDir(), checkpointKey: key, payloadKey: nil)
        config.checkpointEvery = 0
        let writer = AuditWriter(client: box.client, configuration: config, logger: TestDatabase.logger)
        return try await withWriter(writer) { w in
            var i = 0
            var at = now.addingTimeInterval(-9 * day)
            while at < now.addingTimeInterval(-60) {
                for tenant in ["a", "b", "c"] {
                    w.record(sampleEvent(tenant: tenant, i: i, at: at.addingTimeInterval(Double(i % 7) * 60)))
                    i += 1
                }
                at = at.addingTimeInterval(5 * hour + 17 * 60)
            }
            await w.flush()
            return i
        }
    }

    /// The overview as text: exact counts, costs to 1e-9 (rollups add the same costs in another order).
    static func text(_ o: AuditOverview) -> String {
        text(o.report) + "\nbuckets " + o.buckets.map { "\(Int($0.start.timeIntervalSince1970)):\($0.decision)=\($0.calls)" }.joined(separator: " ")
            + "\ntenants " + o.tenants.map { "\($0.tenant)=\($0.calls)/\($0.promptTokens)/\($0.completionTokens)/\(money($0.costUSD))/\(money($0.avoidedUSD))" }.sorted().joined(separator: " ")
    }

    static func text(_ r: AuditReport) -> String {
        "calls \(r.totalCalls) local \(r.localCalls) cost \(money(r.costUSD)) avoided \(money(r.costAvoidedUSD))"
            + "\ndecisions " + r.byDecision.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            + "\nentities " + r.entityTypes.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            + "\ndestinations " + r.destinations.map { "\($0.region)/\($0.provider)=\($0.calls)" }.sorted().joined(separator: " ")
            + "\nmodels " + r.models.map { "\($0.model)=\($0.calls)/\($0.promptTokens)/\($0.completionTokens)/\(money($0.costUSD))" }.sorted().joined(separator: " ")
    }

    static func money(_ v: Double) -> String { String(format: "%.9f", v) }

    struct Range: Sendable {
        var name: String
        var tenant: String?
        var from: Date
        var to: Date
        var bucket: Int
    }

    static func ranges(now: Date) -> [Range] {
        let midnight = floorTo(now, day)
        return [
            Range(name: "whole days to now", from: midnight.addingTimeInterval(-6 * day), to: now.addingTimeInterval(1), bucket: 86_400),
            Range(name: "whole days, one tenant", tenant: "b", from: midnight.addingTimeInterval(-6 * day), to: now.addingTimeInterval(1), bucket: 86_400),
            Range(name: "weekly buckets", from: midnight.addingTimeInterval(-9 * day), to: now.addingTimeInterval(1), bucket: 7 * 86_400),
            Range(name: "starts mid-day", from: floorTo(now.addingTimeInterval(-3.4 * day), hour), to: now.addingTimeInterval(1), bucket: 6 * 3_600),
            Range(name: "starts and ends mid-day", from: floorTo(now.addingTimeInterval(-5.6 * day), hour),
                  to: now.addingTimeInterval(-1.7 * day - 17 * 60), bucket: 3_600),
            Range(name: "last 24 h", tenant: "c", from: floorTo(now.addingTimeInterval(-day), hour), to: now.addingTimeInterval(1), bucket: 3_600),
            Range(name: "starts mid-hour", from: now.addingTimeInterval(-4 * day + 7 * 60), to: now.addingTimeInterval(1), bucket: 3_600),
            Range(name: "empty", from: now.addingTimeInterval(-20 * day), to: now.addingTimeInterval(-19 * day), bucket: 86_400),
        ]
    }

    /// Every range: rollup-backed == live overview == `AuditReader.report` (the CLI's aggregate).
    /// Returns how many ranges read some rollup rows.
    @discardableResult
    static func expectSameAsLive(_ client: PostgresClient, now: Date, _ when: String) async throws -> Int {
        let reader = AuditRollupReader(client: client, logger: TestDatabase.logger)
        var usedRollups = 0
        for r in ranges(now: now) {
            let rolled = try await reader.overview(tenant: r.tenant, from: r.from, to: r.to, bucketSeconds: r.bucket)
            let live = try await reader.overview(tenant: r.tenant, from: r.from, to: r.to, bucketSeconds: r.bucket, useRollups: false)
            let report = try await AuditReader(client: client, logger: TestDatabase.logger).report(AuditQuery(tenantID: r.tenant, from: r.from, to: r.to))
            #expect(live.source.days.isEmpty && live.source.hours.isEmpty)
            #expect(text(rolled) == text(live), "\(when), \(r.name)")
            #expect(text(rolled.report) == text(report), "\(when), \(r.name) vs audit report")
            if !rolled.source.days.isEmpty || !rolled.source.hours.isEmpty { usedRollups += 1 }
        }
        return usedRollups
    }

    @Test func rollupBackedOverviewEqualsLiveAggregation() async throws {
        try await TestDatabase.withFreshDatabase { client, _ in
            let box = PostgresClientBox(client: client)
            let now = Date()
            let seeded = try await Self.seed(box, now: now)
            #expect(seeded > 100)
            let refresher = AuditRollupRefresher(client: client, logger: TestDatabase.logger)
            let first = try await refresher.refresh(now: now)
            #expect(first.rebuilt >= 9)
            // Nothing changed: a second pass has nothing to do.
            let again = try await refresher.refresh(now: now)
            #expect(again.rebuilt == 0 && again.extended == 0)
            #expect(try await Self.expectSameAsLive(client, now: now, "after refresh") >= 5)

            // Whole-day ranges read complete days from the daily rollups, today's closed hours
            // from the hourly ones, and only the open hour live.
            let reader = AuditRollupReader(client: client, logger: TestDatabase.logger)
            let midnight = Self.floorTo(now, Self.day)
            let o = try await reader.overview(tenant: nil, from: midnight.addingTimeInterval(-6 * Self.day), to: now.addingTimeInterval(1), bucketSeconds: 86_400)
            #expect(o.source.days.count == 6)
            #expect(o.source.live.count == 1 && o.source.live[0].from >= Self.floorTo(now.addingTimeInterval(-refresher.grace), Self.hour))
            #expect(o.report.totalCalls > 50)

            // A late insert (a spool replayed after an outage) into a rolled-up day: that day
            // is read live until the next refresh rebuilds it.
            var config = AuditWriterConfiguration(chainID: "gw-2", spoolDirectory: SpoolTests.tempDir(), checkpointKey: Self.key, payloadKey: nil)
            config.checkpointEvery = 0
            let late = AuditWriter(client: client, configuration: config, logger: TestDatabase.logger)
            try await withWriter(late) { w in
                w.record(sampleEvent(tenant: "a", i: 4, at: midnight.addingTimeInterval(-3 * Self.day + 5 * Self.hour)))
                w.record(sampleEvent(tenant: "d", i: 6, at: midnight.addingTimeInterval(-2 * Self.day + 9 * Self.hour)))
                await w.flush()
            }
            let stale = try await reader.overview(tenant: nil, from: midnight.addingTimeInterval(-6 * Self.day), to: now.addingTimeInterval(1), bucketSeconds: 86_400)
            #expect(stale.source.days.count == 4)
            #expect(stale.report.totalCalls == o.report.totalCalls + 2)
            try await Self.expectSameAsLive(client, now: now, "after late inserts")
            let rebuilt = try await refresher.refresh(now: now)
            #expect(rebuilt.rebuilt == 2)
            #expect(try await reader.overview(tenant: nil, from: midnight.addingTimeInterval(-6 * Self.day), to: now.addingTimeInterval(1), bucketSeconds: 86_400).source.days.count == 6)
            try await Self.expectSameAsLive(client, now: now, "after rebuilding")

            // Late events on the existing chain, into a closed day and into today's rolled-up
            // hours, written after newer events: caught by the chain-sequence check as well.
            let todayRolled = Self.floorTo(now.addingTimeInterval(-refresher.grace), Self.hour)
            var resume = AuditWriterConfiguration(chainID: "gw", spoolDirectory: SpoolTests.tempDir(), checkpointKey: Self.key, payloadKey: nil)
            resume.checkpointEvery = 0
            let sameChain = AuditWriter(client: client, configuration: resume, logger: TestDatabase.logger)
            try await withWriter(sameChain) { w in
                w.record(sampleEvent(tenant: "b", i: 8, at: now.addingTimeInterval(-30)))
                w.record(sampleEvent(tenant: "b", i: 9, at: midnight.addingTimeInterval(-4 * Self.day + 13 * Self.hour)))
                if todayRolled > midnight { w.record(sampleEvent(tenant: "c", i: 10, at: todayRolled.addingTimeInterval(-20 * 60))) }
                await w.flush()
            }
            let lateSameChain = try await reader.overview(tenant: nil, from: midnight.addingTimeInterval(-6 * Self.day), to: now.addingTimeInterval(1), bucketSeconds: 86_400)
            #expect(lateSameChain.source.days.count == 5)
            try await Self.expectSameAsLive(client, now: now, "after late inserts on the same chain")
            #expect(try await refresher.refresh(now: now).rebuilt == (todayRolled > midnight ? 2 : 1))
            try await Self.expectSameAsLive(client, now: now, "after rebuilding again")

            // A later refresh extends today by its newly closed hours without rebuilding. It
            // stays within today: past midnight tomorrow's (pre-created) partition would get its
            // first rollup, counted as a rebuild (this failed when run after 22:00 UTC). In the
            // first hour after midnight no hour of today was closed yet, so today's first
            // rollup is the one rebuild.
            let laterNow = min(now.addingTimeInterval(2 * Self.hour), midnight.addingTimeInterval(Self.day - 1))
            let later = try await refresher.refresh(now: laterNow)
            #expect(later.rebuilt == (todayRolled > midnight ? 0 : 1))
            try await Self.expectSameAsLive(client, now: now, "after extending today")
        }
    }

    @Test func retentionRedactionsAndDropsAreNeverServedFromStaleRollups() async throws {
        try await TestDatabase.withFreshDatabase { client, _ in
            let box = PostgresClientBox(client: client)
            let now = Date()
            _ = try await Self.seed(box, now: now)
            let refresher = AuditRollupRefresher(client: client, logger: TestDatabase.logger)
            _ = try await refresher.refresh(now: now)
            try await Self.expectSameAsLive(client, now: now, "before retention")

            // a keeps 2 days, b 4 days, c 30: partitions older than 4 days keep c's rows and
            // blank a's and b's; nothing older than 30 days exists, so make c short-lived for
            // the oldest days with a drop: tenant c keeps 8 days, the 9-day-old partition goes.
            let rules = RetentionRules(defaults: .init(auditDays: 30, payloadDays: 30),
                                       tenants: ["a": .init(auditDays: 2, payloadDays: 2), "b": .init(auditDays: 4, payloadDays: 4),
                                                 "c": .init(auditDays: 8, payloadDays: 8)])
            let outcome = try await RetentionRunner(client: client, logger: TestDatabase.logger, checkpointKey: Self.key)
                .run(rules: rules, now: now, dryRun: false, trigger: "test")
            #expect(outcome.eventsRedacted > 10)
            #expect(outcome.partitionsDropped.count >= 1)
            // Without a refresh, the changed days are read live: still the same numbers.
            try await Self.expectSameAsLive(client, now: now, "after retention, before refresh")
            let midnight = Self.floorTo(now, Self.day)
            let whole = try await AuditRollupReader(client: client, logger: TestDatabase.logger)
                .overview(tenant: nil, from: midnight.addingTimeInterval(-9 * Self.day), to: now.addingTimeInterval(1), bucketSeconds: 86_400)
            #expect((whole.report.byDecision[""] ?? 0) > 10)  // blanked rows still count as calls, as live
            #expect(whole.source.days.count <= 2)  // only days retention did not touch

            let rebuilt = try await refresher.refresh(now: now)
            #expect(rebuilt.rebuilt >= 6)
            #expect(try await TestDatabase.scalar(client, "SELECT count(*) FROM audit_rollup_coverage WHERE day < now() - interval '9 days'") == 0)
            #expect(try await Self.expectSameAsLive(client, now: now, "after retention and refresh") >= 5)
        }
    }

    @Test func planSplitsRangesOnWholeHoursAndDays() {
        let d0 = Date(timeIntervalSince1970: 20_000 * 86_400)
        let coverage = [d0: d0.addingTimeInterval(86_400), d0.addingTimeInterval(86_400): d0.addingTimeInterval(86_400 + 10 * 3_600)]
        // Daily buckets from midnight: day 0 whole, day 1 hours 0-10, the rest live.
        let p = AuditRollupPlan.make(from: d0, to: d0.addingTimeInterval(86_400 + 12.5 * 3_600), bucketSeconds: 86_400, coverage: coverage)
        #expect(p.days == [d0])
        #expect(p.hours == [.init(from: d0.addingTimeInterval(86_400), to: d0.addingTimeInterval(86_400 + 10 * 3_600))])
        #expect(p.live == [.init(from: d0.addingTimeInterval(86_400 + 10 * 3_600), to: d0.addingTimeInterval(86_400 + 12.5 * 3_600))])
        // 6-hour buckets: the complete day is read by the hour so each row sits in one bucket;
        // a range ending mid-hour reads that hour live.
        let q = AuditRollupPlan.make(from: d0.addingTimeInterval(3 * 3_600), to: d0.addingTimeInterval(86_400 + 5.5 * 3_600), bucketSeconds: 21_600, coverage: coverage)
        #expect(q.days.isEmpty)
        #expect(q.hours == [.init(from: d0.addingTimeInterval(3 * 3_600), to: d0.addingTimeInterval(86_400 + 5 * 3_600))])
        #expect(q.live == [.init(from: d0.addingTimeInterval(86_400 + 5 * 3_600), to: d0.addingTimeInterval(86_400 + 5.5 * 3_600))])
        // A start off the hour cannot be bucketed from hour rows: all live.
        let r = AuditRollupPlan.make(from: d0.addingTimeInterval(60), to: d0.addingTimeInterval(86_400), bucketSeconds: 3_600, coverage: coverage)
        #expect(r.days.isEmpty && r.hours.isEmpty && r.live.count == 1)
    }
}
