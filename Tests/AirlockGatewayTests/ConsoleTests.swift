import AirlockStore
import Foundation
import Testing
@testable import AirlockGateway

@Suite struct ConsoleTests {
    @Test func escapesTextAndAttributeValues() {
        #expect(ConsoleHTML.escape(#"<script>alert("x")</script> & 'y'"#) == "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;")
        #expect(ConsoleHTML.escape("KR_RRN plain") == "KR_RRN plain")
        #expect(ConsoleHTML.count(1_234_567) == "1,234,567" && ConsoleHTML.count(999) == "999")
        #expect(ConsoleHTML.compact(601_975_100) == "601.98M" && ConsoleHTML.compact(90) == "90" && ConsoleHTML.compact(250_000) == "250.0k")
        #expect(ConsoleHTML.escape("홍길동 <b>") == "홍길동 &lt;b&gt;")
        // Links percent-encode query values before escaping, so a value cannot end the attribute.
        #expect(ConsoleHTML.href("/console/audit", [("tenant", #"a"b&c"#), ("model", nil)]) == #"href="/console/audit?tenant=a%22b%26c""#)
    }

    @Test func parsesFormsAndQueryStrings() {
        let form = ConsoleForm("_csrf=abc&prompt=Call+me%3A+010-1234-5678&empty=&tenant=%20acme%20&x=%ZZ")
        #expect(form.raw("prompt") == "Call me: 010-1234-5678")
        #expect(form["tenant"] == "acme")
        #expect(form["empty"] == nil)
        #expect(form["x"] == nil)  // invalid percent-encoding is dropped, not guessed
        #expect(ConsoleForm(nil)["a"] == nil)
    }

    @Test func parsesFilterDates() throws {
        let day = try #require(ConsoleDates.parse("2026-11-01"))
        #expect(ConsoleHTML.timestamp(day) == "2026-11-01 00:00:00")
        let local = try #require(ConsoleDates.parse("2026-11-01T08:30"))
        #expect(ConsoleHTML.timestamp(local) == "2026-11-01 08:30:00")
        #expect(ConsoleDates.inputValue(local) == "2026-11-01T08:30")
        #expect(ConsoleDates.parse("yesterday") == nil)
    }

    @Test func sessionsAreRandomExpireAndEnd() throws {
        let store = ConsoleSessionStore(idleTimeout: 60, absoluteTimeout: 3600)
        let op = ConsoleOperator(id: "op_1", name: "Ana", role: .auditor, prefix: "aop_x", createdAt: Date())
        let t0 = Date(timeIntervalSince1970: 1_000_000)
        let (id, session) = store.create(operatorAccount: op, now: t0)
        #expect(id.count == 64 && session.csrfToken.count == 64 && id != session.csrfToken)
        #expect(id.allSatisfy { $0.isHexDigit })
        #expect(store.create(operatorAccount: op, now: t0).id != id)
        #expect(store.lookup(id, now: t0.addingTimeInterval(30))?.operatorID == "op_1")
        // Idle timeout counts from the last request.
        #expect(store.lookup(id, now: t0.addingTimeInterval(85)) != nil)
        #expect(store.lookup(id, now: t0.addingTimeInterval(200)) == nil)
        let (other, _) = store.create(operatorAccount: op, now: t0)
        store.remove(other)
        #expect(store.lookup(other, now: t0) == nil)
        #expect(store.lookup("not-a-session", now: t0) == nil)
        // Absolute timeout even with steady use.
        let (busy, _) = store.create(operatorAccount: op, now: t0)
        var t = t0
        for _ in 0..<70 { t = t.addingTimeInterval(55); _ = store.lookup(busy, now: t) }
        #expect(store.lookup(busy, now: t) == nil)
        // Revocation ends every session of the operator.
        let (a, _) = store.create(operatorAccount: op, now: t0)
        store.removeAll(operatorID: "op_1")
        #expect(store.lookup(a, now: t0) == nil)
    }

    @Test func sessionMapHoldsHashesNotIDs() {
        let store = ConsoleSessionStore()
        let op = ConsoleOperator(id: "op_2", name: "B", role: .admin, prefix: "aop_y", createdAt: Date())
        let (id, _) = store.create(operatorAccount: op)
        #expect(ConsoleSessionStore.key(id) != id)
        #expect(ConsoleSessionStore.key(id).count == 64)
        #expect(store.lookup(ConsoleSessionStore.key(id)) == nil)  // the stored key is not a usable cookie
    }

    @Test func failedSignInsAreThrottledPerAddress() {
        let throttle = ConsoleSignInThrottle(maxFailures: 3, window: 60)
        let t0 = Date(timeIntervalSince1970: 1_000_000)
        for i in 0..<3 {
            #expect(throttle.allows("10.0.0.1", now: t0.addingTimeInterval(Double(i))))
            throttle.recordFailure("10.0.0.1", now: t0.addingTimeInterval(Double(i)))
        }
        #expect(!throttle.allows("10.0.0.1", now: t0.addingTimeInterval(5)))
        #expect(throttle.allows("10.0.0.2", now: t0.addingTimeInterval(5)))  // other clients are not affected
        #expect(throttle.allows("10.0.0.1", now: t0.addingTimeInterval(61)))  // the window slides
        throttle.recordFailure("10.0.0.3", now: t0)
        throttle.reset("10.0.0.3")
        #expect(throttle.allows("10.0.0.3", now: t0))
    }

    @Test func csrfTokensCompareExactly() {
        let token = ConsoleSessionStore.randomToken()
        #expect(ConsoleSessionStore.tokensEqual(token, token))
        #expect(!ConsoleSessionStore.tokensEqual(nil, token))
        #expect(!ConsoleSessionStore.tokensEqual("", token))
        #expect(!ConsoleSessionStore.tokensEqual(String(token.dropLast()) + "x", token))
        #expect(!ConsoleSessionStore.tokensEqual(token + "0", token))
    }

    @Test func chartsAreSelfContainedSVGWithEscapedLabels() {
        let svg = ConsoleChart.bars([.init(label: "<EMAIL_ADDRESS>", value: 3, display: "3"), .init(label: "KR_RRN", value: 1, display: "1")], title: "Entity \"types\"")
        #expect(svg.hasPrefix("<svg class=\"chart\""))
        #expect(svg.contains("&lt;EMAIL_ADDRESS&gt;"))
        #expect(svg.contains("Entity &quot;types&quot;"))
        #expect(!svg.contains("style="))  // the CSP allows no inline styles
        #expect(!svg.contains("<script"))
        #expect(svg.components(separatedBy: "<rect").count - 1 == 2)
        let columns = ConsoleChart.stackedColumns([.init(label: "11-01", values: [2, 1]), .init(label: "11-02", values: [0, 4])],
                                                  series: [("allowed", 0), ("blocked", 2)], title: "Calls")
        #expect(columns.contains("class=\"c0\"") && columns.contains("class=\"c2\""))
        #expect(columns.contains("allowed") && columns.contains("11-02"))
        #expect(!columns.contains("style="))
        #expect(ConsoleChart.bars([], title: "x").contains("No data"))
    }

    @Test func pagesCarryAStrictPolicyAndEscapeTheOperator() {
        let session = ConsoleSession(operatorID: "op_1", operatorName: "<img src=x>", role: .auditor, csrfToken: "tok", createdAt: Date(), lastSeen: Date())
        let html = ConsolePage.document(title: "T", body: "", session: session, section: "/console/audit")
        #expect(html.contains("&lt;img src=x&gt;"))
        #expect(html.contains("name=\"_csrf\" value=\"tok\""))
        #expect(!html.contains("/console/policies"))  // auditors see no admin pages
        let admin = ConsoleSession(operatorID: "op_2", operatorName: "A", role: .admin, csrfToken: "t", createdAt: Date(), lastSeen: Date())
        #expect(ConsolePage.document(title: "T", body: "", session: admin, section: nil).contains("/console/policies"))
        let response = ConsolePage.html(.ok, html)
        let csp = response.headers[.contentSecurityPolicy] ?? ""
        #expect(csp.contains("default-src 'none'") && !csp.contains("unsafe-inline") && !csp.contains("script-src"))
        #expect(response.headers[.cacheControl] == "no-store")
        #expect(!html.contains("http://") && !html.contains("https://"))  // no external assets
    }
}
