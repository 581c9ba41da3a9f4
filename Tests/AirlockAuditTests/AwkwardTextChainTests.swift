import Foundation
import PostgresNIO
import Testing
@testable import AirlockAudit

/// Audit rows carry text a client chose (model names, request ids, rule ids from policies,
/// admin targets). Whatever it contains, the stored row must hash to what was chained, or an
/// untouched log would be reported as edited.
@Suite("Audit rows with awkward text", .enabled(if: TestDatabase.available, "set AIRLOCK_TEST_DATABASE_URL to run database tests"))
struct AwkwardTextChainTests {
    static let key = try! AuditKey(encoded: String(repeating: "cd", count: 32))

    /// Values that need escaping in COPY text, in JSON, or in an array literal.
    static func awkwardEvent(_ i: Int, at date: Date) -> AuditEvent {
        let awkward = "q\"uote \\back\\slash\nnew\tline\r\u{01}ctl\u{0}nul \u{1F600} {a,b} 'x' \u{2028}"
        let id = UUID(uuidString: "00000000-0000-4000-8000-" + String(format: "%012d", i))!
        if i % 4 == 3 {
            return AuditEvent(id: id, kind: .admin, tenantID: "t-\(i)", requestID: "admin-\(i)", endpoint: "/admin/\(i)", decision: .allowed,
                              receivedAt: date, actor: "op\"\\\(i)", target: awkward, details: ["why": awkward, "n": "\(i)"])
        }
        return AuditEvent(id: id, tenantID: "t-\(i % 2)", keyID: i % 3 == 0 ? nil : "key \"\(i)\"", requestID: "req-\(i)-\(awkward)",
                          requestedModel: awkward, provider: "p\\\(i)", region: "us", routeReason: awkward,
                          decision: i % 2 == 0 ? .transformed : .blocked, firedRuleIDs: ["r,\(i)", "q\"\(i)", "b\\\(i)", awkward, ""],
                          policyVersion: i, entityCounts: [.emailAddress: i + 1, .krRRN: 2],
                          fingerprints: ["fp\(i)", "{\"x\"}"], usage: .init(promptTokens: i, cachedPromptTokens: 1, completionTokens: 3),
                          costUSD: [0.1, 1e-7, nil, 12345.678901234][i % 4], avoidedCostUSD: i % 2 == 0 ? 0.3 : nil,
                          receivedAt: date, firstByteAt: date.addingTimeInterval(0.0123456), completedAt: date.addingTimeInterval(0.5),
                          latencyMs: 500 + i, status: 200, errorCode: i % 2 == 0 ? nil : "pii_blocked",
                          clientAddress: i % 3 == 0 ? nil : "10.0.\(i).1")
    }

    /// Sealed entries 1...count of `chainID`.
    static func entries(chainID: String, count: Int, base: Date) -> [SpoolEntry] {
        var prev = AuditRecord.zeroHash
        return (1...count).map { seq in
            var record = AuditRecord(event: awkwardEvent(seq, at: base.addingTimeInterval(Double(seq) * 0.001)), chainID: chainID,
                                     seq: Int64(seq), payloadDigest: seq % 5 == 0 ? Array(repeating: UInt8(seq), count: 32) : nil)
            record.seal(prev: prev)
            prev = record.hash
            return SpoolEntry(record: record, payload: nil)
        }
    }

    @Test func rowsWithQuotesControlCharactersAndNULVerify() async throws {
        try await TestDatabase.withFreshDatabase { client, _ in
            let store = AuditStore(client: client, logger: TestDatabase.logger)
            let signer = ChainSigner(key: Self.key)
            let entries = Self.entries(chainID: "awkward", count: 24, base: Date())
            try await store.ensurePartitions([UTCDay.day(ofMicros: entries[0].record.receivedAt)])
            #expect(try await store.append(entries[..<10], chainID: "awkward", signer: signer, checkpointEvery: 0).rows == 10)
            #expect(try await store.append(entries[10...], chainID: "awkward", signer: signer, checkpointEvery: 8).rows == 14)

            let report = try await ChainVerifier(client: client, logger: TestDatabase.logger, checkpointKey: Self.key).verify()
            #expect(report.ok, "\(report)")
            #expect(report.eventsChecked == 24)
            #expect(report.chains.first?.checkpointsChecked == 2)
            // What was stored is the text without its NUL bytes, everything else intact.
            let models = try await client.query("SELECT requested_model FROM audit_events WHERE chain_id = 'awkward' AND kind = 0 ORDER BY seq LIMIT 1",
                                                logger: TestDatabase.logger)
            for try await model in models.decode(String.self) {
                #expect(model == "q\"uote \\back\\slash\nnew\tline\r\u{01}ctlnul \u{1F600} {a,b} 'x' \u{2028}")
            }
        }
    }

    @Test func recordsAreHashedWithoutNUL() {
        let event = AuditEvent(tenantID: "t\u{0}1", requestID: "r\u{0}", requestedModel: "gpt\u{0}-4o", decision: .allowed,
                               firedRuleIDs: ["a\u{0}b"], fingerprints: ["f\u{0}"], errorCode: "e\u{0}", target: "\u{0}")
        let record = AuditRecord(event: event, chainID: "c\u{0}", seq: 1, payloadDigest: nil)
        #expect(record.tenantID == "t1" && record.requestID == "r" && record.requestedModel == "gpt-4o")
        #expect(record.ruleIDs == ["ab"] && record.fingerprints == ["f"] && record.errorCode == "e" && record.target == "" && record.chainID == "c")
        let clean = AuditEvent(tenantID: "t1", requestID: "r", requestedModel: "gpt-4o", decision: .allowed,
                               firedRuleIDs: ["ab"], fingerprints: ["f"], errorCode: "e", target: "")
        var a = record, b = AuditRecord(event: clean, chainID: "c", seq: 1, payloadDigest: nil)
        b.eventID = a.eventID
        b.receivedAt = a.receivedAt
        a.seal(prev: AuditRecord.zeroHash)
        b.seal(prev: AuditRecord.zeroHash)
        #expect(a.hash == b.hash)
    }
}
