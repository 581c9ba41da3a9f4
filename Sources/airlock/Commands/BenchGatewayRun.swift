import AirlockGateway
import Foundation

/// The measurements of `airlock bench gateway` once everything is running; returns the JSON.
struct BenchGatewayRun {
    typealias Target = GatewayBenchClient.Target

    let command: BenchGatewayOptions
    let client: GatewayBenchClient
    let upstream: BenchChild
    let gateway: BenchChild
    let direct: Target
    let airlock: Target
    let bareProxy: Target
    let proxy: BenchChild
    let proxyPort: Int
    let upstreamPort: Int
    let gatewayPort: Int
    let externalDatabase: Bool

    func run() async throws -> String {
        try await waitReady(upstream, url: "http://127.0.0.1:\(upstreamPort)/v1/models", seconds: 15)
        try await waitReady(proxy, url: "http://127.0.0.1:\(proxyPort)/v1/models", seconds: 15)
        try await waitReady(gateway, url: "http://127.0.0.1:\(gatewayPort)/readyz", seconds: 90)
        // Let startup work (governance load, pools) settle before the idle reading.
        try await Task.sleep(for: .milliseconds(500))

        var report: [String: Any] = [:]
        var rss: [String: Any] = ["gateway_idle_mib": orNull(BenchSystem.rssMiB(pid: gateway.pid))]
        report["benchmark"] = "gateway"
        #if DEBUG
        report["build"] = "debug (numbers are not meaningful; use -c release)"
        #else
        report["build"] = "release"
        #endif
        report["machine"] = ["cpus": ProcessInfo.processInfo.activeProcessorCount, "os": ProcessInfo.processInfo.operatingSystemVersionString] as [String: Any]
        report["setup"] = [
            "upstream": "mock (Hummingbird, fixed answers), separate process, 127.0.0.1",
            "client": "AsyncHTTPClient, keep-alive, same process measures both paths",
            "database": externalDatabase ? "external (AIRLOCK_DATABASE_URL)" : "temporary managed PostgreSQL",
            "c1_method": "request pairs alternate direct/airlock (order swapped every pair)",
            "warmup_pairs": command.warmup,
        ] as [String: Any]
        let only = Set(command.selected)

        if only.contains("plain") {
            let body = BenchGatewayWorkload.plainBody()
            let check = try await client.sendOK(airlock, body: body)
            _ = try await client.alternating(direct, airlock, body: body, count: command.warmup)
            rss["gateway_after_warmup_mib"] = orNull(BenchSystem.rssMiB(pid: gateway.pid))
            let cpu = cpuMark()
            let (d, a) = try await client.alternating(direct, airlock, body: body, count: command.requests)
            var section = compare(d.map(\.totalNanos), a.map(\.totalNanos))
            section["cpu_ms_per_request"] = cpuPerRequest(since: cpu, requests: command.requests)
            section["request_bytes"] = body.count
            // The same measurement against a bare proxy (Hummingbird in, the same upstream transport out): what one
            // extra loopback HTTP hop costs with no pipeline at all.
            _ = try await client.alternating(direct, bareProxy, body: body, count: max(command.warmup / 3, 1))
            let (pd, pp) = try await client.alternating(direct, bareProxy, body: body, count: command.requests)
            let bare = compare(pd.map(\.totalNanos), pp.map(\.totalNanos))
            let bareAdded = bare["added_ms"] as! [String: Any]
            let airlockAdded = section["added_ms"] as! [String: Any]
            section["bare_proxy_reference"] = [
                "direct_ms": bare["direct_ms"]!, "proxy_ms": bare["airlock_ms"]!, "added_ms": bareAdded,
                "airlock_added_beyond_bare_proxy_ms": [
                    "p50": round3((airlockAdded["p50"] as! Double) - (bareAdded["p50"] as! Double)),
                    "p99": round3((airlockAdded["p99"] as! Double) - (bareAdded["p99"] as! Double)),
                ] as [String: Any],
            ] as [String: Any]
            section["decision"] = orNull(check.decision)
            let added = section["added_ms"] as! [String: Any]
            section["target"] = [
                "added_p50_ms_max": 0.3, "added_p99_ms_max": 2.0,
                "p50_met": (added["p50"] as! Double) < 0.3, "p99_met": (added["p99"] as! Double) < 2.0,
            ] as [String: Any]
            report["c1_plain"] = section
        }

        if only.contains("pii") {
            let body = BenchGatewayWorkload.piiBody()
            let check = try await client.sendOK(airlock, body: body, keepBody: true)
            let answer = String(decoding: check.body, as: UTF8.self)
            guard let decision = check.decision, decision.contains("pseudonymize") else {
                throw BenchFailure("the personal-data prompt was not pseudonymized (x-airlock-decision: \(check.decision ?? "none"))")
            }
            // The echoing upstream saw surrogates; Airlock must have restored the originals.
            let restored = answer.contains("jane.doe@example.com") && answer.contains("4111 1111 1111 1111")
            _ = try await client.alternating(direct, airlock, body: body, count: max(command.warmup / 3, 1))
            let cpu = cpuMark()
            let (d, a) = try await client.alternating(direct, airlock, body: body, count: command.piiRequests)
            var section = compare(d.map(\.totalNanos), a.map(\.totalNanos))
            section["cpu_ms_per_request"] = cpuPerRequest(since: cpu, requests: command.piiRequests)
            section["request_bytes"] = body.count
            section["decision"] = decision
            section["answer_restored"] = restored
            section["note"] = "upstream echoes the prompt, so the answer is restored (and output-scanned) too"
            report["c1_pii"] = section
        }

        if only.contains("stream") {
            let body = BenchGatewayWorkload.plainBody(stream: true)
            let check = try await client.sendOK(airlock, body: body, keepBody: true)
            guard String(decoding: check.body, as: UTF8.self).contains("[DONE]") else {
                throw BenchFailure("the streamed answer through Airlock did not end with [DONE]")
            }
            _ = try await client.alternating(direct, airlock, body: body, count: max(command.warmup / 3, 1))
            let (d, a) = try await client.alternating(direct, airlock, body: body, count: command.streamRequests)
            report["c1_stream"] = [
                "sse_chunks": command.streamChunks + 2,
                "time_to_first_byte": compare(d.map(\.firstByteNanos), a.map(\.firstByteNanos)),
                "time_to_last_byte": compare(d.map(\.totalNanos), a.map(\.totalNanos)),
            ] as [String: Any]
        }

        if only.contains("load") {
            let body = BenchGatewayWorkload.plainBody()
            let c = command.concurrency
            // Short warm-up at full concurrency opens the connections on both hops.
            _ = await client.load(direct, body: body, concurrency: c, seconds: 1)
            _ = await client.load(airlock, body: body, concurrency: c, seconds: 1)
            rss["gateway_before_load_mib"] = orNull(BenchSystem.rssMiB(pid: gateway.pid))
            let d = await client.load(direct, body: body, concurrency: c, seconds: command.seconds)
            let pid = gateway.pid
            let sampler = Task { () -> Double in
                var peak = 0.0
                while !Task.isCancelled {
                    peak = max(peak, BenchSystem.rssMiB(pid: pid) ?? 0)
                    try? await Task.sleep(for: .milliseconds(50))
                }
                return peak
            }
            let cpu = cpuMark()
            let a = await client.load(airlock, body: body, concurrency: c, seconds: command.seconds)
            sampler.cancel()
            let loadCPU = cpuPerRequest(since: cpu, requests: a.samples.count, upstreamCallsPerRequest: 1)
            rss["gateway_peak_under_load_mib"] = await sampler.value
            try Task.checkCancellation()
            guard !a.samples.isEmpty else { throw BenchFailure("no request through Airlock succeeded under load: \(a.firstError ?? "unknown")") }
            report["c\(c)_load"] = [
                "concurrency": c,
                "seconds_per_path": command.seconds,
                "direct": loadSection(d),
                "airlock": loadSection(a),
                "cpu_ms_per_request": loadCPU,
                "airlock_over_direct_rps": round3(a.requestsPerSecond / max(d.requestsPerSecond, 1e-9)),
                "added_ms": [
                    "p50": round3(LatencySummary(nanos: a.samples.map(\.totalNanos)).p50 - LatencySummary(nanos: d.samples.map(\.totalNanos)).p50),
                    "p99": round3(LatencySummary(nanos: a.samples.map(\.totalNanos)).p99 - LatencySummary(nanos: d.samples.map(\.totalNanos)).p99),
                ],
            ] as [String: Any]
            try await Task.sleep(for: .seconds(1))
            rss["gateway_after_load_mib"] = orNull(BenchSystem.rssMiB(pid: gateway.pid))
        }
        rss["upstream_mib"] = orNull(BenchSystem.rssMiB(pid: upstream.pid))
        report["rss"] = rss

        guard gateway.isRunning else { throw BenchFailure("airlock serve exited during the run: \(gateway.logTail())") }
        let data = try JSONSerialization.data(withJSONObject: report, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self)
    }

    /// CPU seconds used so far by the gateway and by the upstream.
    func cpuMark() -> (gateway: Double, upstream: Double) {
        (BenchSystem.cpuSeconds(pid: gateway.pid) ?? 0, BenchSystem.cpuSeconds(pid: upstream.pid) ?? 0)
    }

    /// Gateway CPU per request through it (user + system, clock-tick resolution) and, for
    /// scale, the upstream's CPU per request it served (twice per c=1 pair, once under load).
    func cpuPerRequest(since mark: (gateway: Double, upstream: Double), requests: Int, upstreamCallsPerRequest: Double = 2) -> [String: Any] {
        let now = cpuMark()
        return ["gateway": round3((now.gateway - mark.gateway) * 1000 / Double(max(requests, 1))),
                "upstream": round3((now.upstream - mark.upstream) * 1000 / Double(max(requests, 1)) / upstreamCallsPerRequest)] as [String: Any]
    }

    func waitReady(_ child: BenchChild, url: String, seconds: Double) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            guard child.isRunning else { throw BenchFailure("\(child.name) exited early: \(child.logTail())") }
            if await client.status(url) == 200 { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw BenchFailure("\(child.name) was not ready within \(Int(seconds)) s: \(child.logTail())")
    }

    /// Both paths' latency summaries, Airlock's added latency and the ratios.
    func compare(_ d: [UInt64], _ a: [UInt64]) -> [String: Any] {
        let sd = LatencySummary(nanos: d)
        let sa = LatencySummary(nanos: a)
        let paired = LatencySummary.pairedDifferences(d, a)
        return [
            "direct_ms": summary(sd),
            "airlock_ms": summary(sa),
            "added_ms": [
                "p50": round3(sa.p50 - sd.p50), "p90": round3(sa.p90 - sd.p90), "p99": round3(sa.p99 - sd.p99),
                "mean": round3(sa.mean - sd.mean),
                "paired_p50": round3(paired.p50), "paired_p99": round3(paired.p99),
            ] as [String: Any],
            "ratio_airlock_over_direct": ["p50": round3(sa.p50 / max(sd.p50, 1e-9)), "p99": round3(sa.p99 / max(sd.p99, 1e-9))],
            "sequential_rps": ["direct": round1(1000 / max(sd.mean, 1e-9)), "airlock": round1(1000 / max(sa.mean, 1e-9))],
        ] as [String: Any]
    }

    func loadSection(_ r: GatewayBenchClient.LoadResult) -> [String: Any] {
        [
            "requests": r.samples.count, "errors": r.errors, "first_error": orNull(r.firstError),
            "rps": round1(r.requestsPerSecond), "latency_ms": summary(LatencySummary(nanos: r.samples.map(\.totalNanos))),
        ] as [String: Any]
    }

    func summary(_ s: LatencySummary) -> [String: Any] {
        ["count": s.count, "p50": round3(s.p50), "p90": round3(s.p90), "p99": round3(s.p99), "mean": round3(s.mean),
         "min": round3(s.min), "max": round3(s.max)] as [String: Any]
    }

    func orNull(_ value: Any?) -> Any { value ?? NSNull() }

    func round3(_ v: Double) -> Double { (v * 1000).rounded() / 1000 }
    func round1(_ v: Double) -> Double { (v * 10).rounded() / 10 }
}
