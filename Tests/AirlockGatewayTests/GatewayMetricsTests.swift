import AirlockAudit
import AirlockCore
import Testing
@testable import AirlockGateway

@Suite struct GatewayMetricsTests {
    @Test func rendersRequestDecisionEntityAndUpstreamSeries() {
        let m = GatewayMetrics()
        m.request(route: "/v1/chat/completions", method: "POST", status: 200, seconds: 0.02)
        m.request(route: nil, method: "GET", status: 404, seconds: 0.001)
        m.call(tenant: "acme", decision: .blocked, entities: [.krRRN: 2, .emailAddress: 1])
        m.upstream(provider: "mock", status: 200, seconds: 0.3)
        m.upstreamError(provider: "mock", code: "upstream_timeout")
        m.localGeneration(tokens: 40, seconds: 2)
        let text = m.render()
        #expect(text.contains(#"airlock_http_requests_total{route="/v1/chat/completions",method="POST",status="200"} 1"#))
        #expect(text.contains(#"airlock_http_requests_total{route="other",method="GET",status="404"} 1"#))
        #expect(text.contains(#"airlock_http_request_duration_seconds_bucket{route="/v1/chat/completions",method="POST",status="200",le="0.025"} 1"#))
        #expect(text.contains(#"airlock_decisions_total{tenant="acme",decision="blocked"} 1"#))
        #expect(text.contains(#"airlock_entities_detected_total{tenant="acme",entity_type="KR_RRN"} 2"#))
        #expect(text.contains(#"airlock_entities_detected_total{tenant="acme",entity_type="EMAIL_ADDRESS"} 1"#))
        #expect(text.contains(#"airlock_upstream_requests_total{provider="mock",status="200"} 1"#))
        #expect(text.contains(#"airlock_upstream_request_duration_seconds_count{provider="mock"} 1"#))
        #expect(text.contains(#"airlock_upstream_errors_total{provider="mock",code="upstream_timeout"} 1"#))
        #expect(text.contains("airlock_local_engine_generated_tokens_total 40"))
        #expect(text.contains("# TYPE airlock_http_request_duration_seconds histogram"))
    }

    /// The request path reuses handles per label set: repeats add up on the same series,
    /// and label sets that differ in any part stay apart.
    @Test func repeatedLabelSetsAccumulateOnOneSeries() {
        let m = GatewayMetrics()
        for _ in 0..<3 { m.request(route: "/v1/models", method: "GET", status: 200, seconds: 0.001) }
        m.request(route: "/v1/models", method: "GET", status: 401, seconds: 0.001)
        for _ in 0..<2 { m.call(tenant: "acme", decision: .allowed, entities: [.emailAddress: 2]) }
        m.call(tenant: "beta", decision: .allowed, entities: [:])
        for _ in 0..<2 { m.upstream(provider: "mock", status: 200, seconds: 0.01) }
        m.upstream(provider: "mock", status: 503, seconds: 0.01)
        m.upstream(provider: "other", status: 200, seconds: 0.01)
        let text = m.render()
        #expect(text.contains(#"airlock_http_requests_total{route="/v1/models",method="GET",status="200"} 3"#))
        #expect(text.contains(#"airlock_http_requests_total{route="/v1/models",method="GET",status="401"} 1"#))
        #expect(text.contains(#"airlock_http_request_duration_seconds_count{route="/v1/models",method="GET",status="200"} 3"#))
        #expect(text.contains(#"airlock_decisions_total{tenant="acme",decision="allowed"} 2"#))
        #expect(text.contains(#"airlock_decisions_total{tenant="beta",decision="allowed"} 1"#))
        #expect(text.contains(#"airlock_entities_detected_total{tenant="acme",entity_type="EMAIL_ADDRESS"} 4"#))
        #expect(text.contains(#"airlock_upstream_requests_total{provider="mock",status="200"} 2"#))
        #expect(text.contains(#"airlock_upstream_requests_total{provider="mock",status="503"} 1"#))
        #expect(text.contains(#"airlock_upstream_requests_total{provider="other",status="200"} 1"#))
        // One latency histogram per provider, whatever the status.
        #expect(text.contains(#"airlock_upstream_request_duration_seconds_count{provider="mock"} 3"#))
        #expect(text.contains(#"airlock_upstream_request_duration_seconds_count{provider="other"} 1"#))
    }

    @Test func samplesAuditCircuitsAndPolicyVersions() {
        let m = GatewayMetrics()
        var stats = AuditWriterStats()
        stats.queueDepth = 7
        stats.spoolPending = 3
        stats.written = 10
        stats.batches = 3
        let start = ContinuousClock.now
        m.sample(audit: stats, now: start)
        m.sample(audit: stats, now: start + .seconds(5))
        m.sample(providers: ["mock", "backup"], health: ["backup": .unavailable])
        m.sample(policyVersions: ["acme": 4, "globex": 1])
        var text = m.render()
        #expect(text.contains("airlock_audit_queue_depth 7"))
        #expect(text.contains("airlock_audit_spool_pending_records 3"))
        #expect(text.contains("airlock_audit_spool_replay_lag_seconds 5"))
        #expect(text.contains(#"airlock_audit_events_total{outcome="written"} 10"#))
        #expect(text.contains("airlock_audit_batches_total 3"))
        #expect(text.contains(#"airlock_provider_circuit_state{provider="mock"} 0"#))
        #expect(text.contains(#"airlock_provider_circuit_state{provider="backup"} 2"#))
        #expect(text.contains(#"airlock_policy_version{tenant="acme"} 4"#))

        // Counters mirror cumulative stats by delta; vanished tenants lose their series.
        stats.written = 12
        stats.batches = 4
        stats.spoolPending = 0
        m.sample(audit: stats, now: start + .seconds(6))
        m.sample(policyVersions: ["acme": 5])
        text = m.render()
        #expect(text.contains(#"airlock_audit_events_total{outcome="written"} 12"#))
        #expect(text.contains("airlock_audit_batches_total 4"))
        #expect(text.contains("airlock_audit_spool_replay_lag_seconds 0"))
        #expect(text.contains(#"airlock_policy_version{tenant="acme"} 5"#))
        #expect(!text.contains("globex"))
    }

    /// The database gauges follow the last probe; the renewal counter adds only what is new.
    @Test func samplesTheDatabaseAndItsPoolRenewals() {
        let m = GatewayMetrics()
        m.sample(databaseReachable: true, poolUp: true, poolRenewals: 0)
        var text = m.render()
        #expect(text.contains("airlock_database_reachable 1") && text.contains("airlock_database_pool_up 1"))
        #expect(text.contains("airlock_database_pool_renewals_total 0"))
        m.sample(databaseReachable: true, poolUp: false, poolRenewals: 1)
        m.sample(databaseReachable: true, poolUp: false, poolRenewals: 1)
        m.sample(databaseReachable: false, poolUp: false, poolRenewals: 2)
        text = m.render()
        #expect(text.contains("airlock_database_reachable 0") && text.contains("airlock_database_pool_up 0"))
        #expect(text.contains("airlock_database_pool_renewals_total 2"))
    }

    @Test func labelValuesAreIdentifiersOnly() {
        let m = GatewayMetrics()
        // Anything that is not a plain identifier (an e-mail, text with quotes or newlines,
        // a long value) collapses to "other": no free text reaches the exposition.
        m.call(tenant: "jane.doe@example.com", decision: .allowed, entities: [:])
        m.upstream(provider: "evil\"} 1\nairlock_fake 9", status: 200, seconds: 0.1)
        m.call(tenant: String(repeating: "t", count: 200), decision: .transformed, entities: [.emailAddress: 1])
        m.request(route: "/v1/chat/completions?email=jane.doe@example.com\"", method: "BREW", status: 200, seconds: 0.1)
        let text = m.render()
        #expect(!text.contains("jane.doe"))
        #expect(!text.contains("airlock_fake"))
        #expect(!text.contains("evil"))
        #expect(!text.contains("BREW"))
        #expect(text.contains(#"airlock_decisions_total{tenant="other",decision="allowed"} 1"#))
        #expect(text.contains(#"airlock_http_requests_total{route="other",method="other",status="200"} 1"#))
        #expect(GatewayMetrics.label("t-1_a.b:c") == "t-1_a.b:c")
    }
}
