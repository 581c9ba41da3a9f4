import Foundation
import Testing
@testable import AirlockAudit

/// "Which calls sent Korean resident numbers to a US provider?" is asked with `--region us`
/// whatever the providers' regions are called: a country or bloc covers its regions, as in a
/// policy's `destinations`; an exact region matches only itself.
@Suite("Audit region filter")
struct RegionFilterTests {
    @Test func countriesCoverTheirRegionsAndExactRegionsOnlyThemselves() {
        #expect(AuditQuery.regionFilter("us") == ("us", true))
        #expect(AuditQuery.regionFilter("US") == ("us", true))
        #expect(AuditQuery.regionFilter("us-*") == ("us", true))
        #expect(AuditQuery.regionFilter("us-east") == ("us-east", false))
        #expect(AuditQuery.regionFilter("local") == ("local", false))
    }

    @Test(.enabled(if: TestDatabase.available, "set AIRLOCK_TEST_DATABASE_URL to run database tests"))
    func searchAndReportMatchARegionFamily() async throws {
        try await TestDatabase.withFreshDatabase { client, _ in
            let regions = ["us", "us-east", "us-west", "usa", "eu-west", "kr-seoul", "local"]
            let writer = AuditWriter(client: client, configuration: .init(chainID: "r", spoolDirectory: SpoolTests.tempDir()), logger: TestDatabase.logger)
            try await withWriter(writer) { w in
                for (i, region) in regions.enumerated() {
                    var event = sampleEvent(tenant: "acme", i: i)
                    event.region = region
                    w.record(event)
                }
                await w.flush()
            }
            let reader = AuditReader(client: client, logger: TestDatabase.logger)
            func found(_ region: String) async throws -> [String] {
                try await reader.search(AuditQuery(region: region)).compactMap(\.region).sorted()
            }
            #expect(try await found("us") == ["us", "us-east", "us-west"])
            #expect(try await found("US-*") == ["us", "us-east", "us-west"])
            #expect(try await found("us-east") == ["us-east"])
            #expect(try await found("kr") == ["kr-seoul"])
            #expect(try await found("eu") == ["eu-west"])
            #expect(try await found("local") == ["local"])
            #expect(try await found("u").isEmpty)
            #expect(try await reader.report(AuditQuery(tenantID: "acme", region: "us")).totalCalls == 3)
        }
    }
}
