import Foundation
import PostgresNIO
import Testing
@testable import AirlockAudit

/// `airlock audit show <id>` (and the console's call view) open one call by event id or by
/// the request id the client saw. The lookup must use an index, not scan every partition.
@Suite("Looking up one call", .enabled(if: TestDatabase.available, "set AIRLOCK_TEST_DATABASE_URL to run database tests"))
struct CallLookupTests {
    @Test func findsACallByRequestIDAndByEventID() async throws {
        try await TestDatabase.withFreshDatabase { client, _ in
            try await ChainTests.seed(PostgresClientBox(client: client), count: 30)
            let reader = AuditReader(client: client, logger: TestDatabase.logger)
            let byRequest = try #require(try await reader.event(id: "req-17"))
            #expect(byRequest.0.requestID == "req-17")
            let byEvent = try #require(try await reader.event(id: byRequest.0.eventID.uuidString))
            #expect(byEvent.0.seq == byRequest.0.seq)
            #expect(try await reader.event(id: "req-999") == nil)
        }
    }

    @Test func lookupUsesAnIndexOnEveryPartition() async throws {
        try await TestDatabase.withFreshDatabase { client, _ in
            try await ChainTests.seed(PostgresClientBox(client: client), count: 5)
            // With sequential scans priced out, a plan still containing one means no index
            // can answer the query (the planner has no other way to run it).
            let plan = try await client.withConnection { connection in
                _ = try await connection.query("SET enable_seqscan = off", logger: TestDatabase.logger)
                var lines: [String] = []
                let rows = try await connection.query("""
                    EXPLAIN SELECT * FROM audit_events
                    WHERE event_id = \(UUID()) OR request_id = \("req-3") LIMIT 1
                    """, logger: TestDatabase.logger)
                for try await (line) in rows.decode(String.self) { lines.append(line) }
                return lines.joined(separator: "\n")
            }
            #expect(!plan.contains("Seq Scan"), "\(plan)")
            #expect(plan.contains("audit_events_request_id") || plan.contains("request_id_idx"), "\(plan)")
        }
    }
}
