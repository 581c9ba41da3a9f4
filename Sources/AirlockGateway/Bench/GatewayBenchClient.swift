import AsyncHTTPClient
import Dispatch
import Foundation
import NIOCore
import NIOHTTP1

/// The measuring side of `airlock bench gateway`: one pooled AsyncHTTPClient that times
/// whole requests (first body byte and last body byte) against two targets — the upstream
/// directly and the same upstream through Airlock — so both are measured by the same
/// client, on the same connections policy, in the same run.
public final class GatewayBenchClient: Sendable {
    /// Where a request goes: URL plus the headers it carries (the Airlock key, or the
    /// provider key for the direct path).
    public struct Target: Sendable {
        public var name: String
        public var url: String
        public var headers: [(String, String)]
        public init(name: String, url: String, headers: [(String, String)]) {
            self.name = name
            self.url = url
            self.headers = headers
        }
    }

    /// One timed request. Times are nanoseconds from just before `execute`.
    public struct Sample: Sendable {
        public var status: Int
        public var firstByteNanos: UInt64
        public var totalNanos: UInt64
        public var bytes: Int
        public var decision: String?
        public var body: [UInt8]
    }

    /// A request body encoded once and shared by every request that sends it.
    public struct Payload: Sendable {
        let buffer: ByteBuffer
        public let count: Int
        public init(_ bytes: [UInt8]) {
            buffer = ByteBuffer(bytes: bytes)
            count = bytes.count
        }
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    let http: HTTPClient

    public init(connections: Int) {
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(connect: .seconds(5), read: .seconds(30))
        configuration.connectionPool = .init(idleTimeout: .seconds(120), concurrentHTTP1ConnectionsPerHostSoftLimit: max(8, connections))
        configuration.decompression = .disabled
        configuration.httpVersion = .http1Only
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// Status of a GET, or nil when nothing answers (readiness polling).
    public func status(_ url: String) async -> Int? {
        var request = HTTPClientRequest(url: url)
        request.method = .GET
        guard let response = try? await http.execute(request, timeout: .seconds(2)) else { return nil }
        _ = try? await response.body.collect(upTo: 1 << 20)
        return Int(response.status.code)
    }

    public func shutdown() async {
        try? await http.shutdown()
    }

    @inline(__always) public static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    /// Sends one POST and reads the whole answer. `keepBody` copies the body (for checks);
    /// otherwise only its length is kept.
    public func send(_ target: Target, body: Payload, keepBody: Bool = false) async throws -> Sample {
        var request = HTTPClientRequest(url: target.url)
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/json")
        for (name, value) in target.headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(body.buffer)
        let start = Self.now()
        let response = try await http.execute(request, timeout: .seconds(30))
        var first: UInt64 = 0
        var count = 0
        var kept: [UInt8] = []
        for try await chunk in response.body {
            if first == 0 { first = Self.now() }
            count += chunk.readableBytes
            if keepBody { kept += chunk.readableBytesView }
        }
        let end = Self.now()
        if first == 0 { first = end }
        return Sample(status: Int(response.status.code), firstByteNanos: first - start, totalNanos: end - start, bytes: count,
                      decision: response.headers.first(name: "x-airlock-decision"), body: kept)
    }

    /// Sends and insists on a 200; anything else becomes a one-line failure naming the target.
    public func sendOK(_ target: Target, body: Payload, keepBody: Bool = false) async throws -> Sample {
        let sample = try await send(target, body: body, keepBody: true)
        guard sample.status == 200 else {
            let text = String(decoding: sample.body.prefix(300), as: UTF8.self).replacingOccurrences(of: "\n", with: " ")
            throw Failure(description: "\(target.name) answered HTTP \(sample.status): \(text)")
        }
        return keepBody ? sample : Sample(status: sample.status, firstByteNanos: sample.firstByteNanos, totalNanos: sample.totalNanos,
                                          bytes: sample.bytes, decision: sample.decision, body: [])
    }

    /// `count` rounds at concurrency 1; each round sends one request to `a` and one to `b`,
    /// alternating which goes first, so drift on the machine hits both paths alike.
    public func alternating(_ a: Target, _ b: Target, body: Payload, count: Int) async throws -> (a: [Sample], b: [Sample]) {
        var sa: [Sample] = []
        var sb: [Sample] = []
        sa.reserveCapacity(count)
        sb.reserveCapacity(count)
        for i in 0..<count {
            if i & 1 == 0 {
                sa.append(try await sendOK(a, body: body))
                sb.append(try await sendOK(b, body: body))
            } else {
                sb.append(try await sendOK(b, body: body))
                sa.append(try await sendOK(a, body: body))
            }
        }
        return (sa, sb)
    }

    public struct LoadResult: Sendable {
        public var samples: [Sample]
        public var errors: Int
        public var firstError: String?
        public var elapsedNanos: UInt64
        public var requestsPerSecond: Double { Double(samples.count) / (Double(elapsedNanos) / 1e9) }
    }

    /// Closed loop: `concurrency` workers each send back to back until `seconds` have
    /// passed. Non-200 answers and transport errors are counted, not thrown.
    public func load(_ target: Target, body: Payload, concurrency: Int, seconds: Double) async -> LoadResult {
        let start = Self.now()
        let deadline = start + UInt64(seconds * 1e9)
        let results = await withTaskGroup(of: ([Sample], Int, String?).self) { group in
            for _ in 0..<concurrency {
                group.addTask {
                    var samples: [Sample] = []
                    var errors = 0
                    var firstError: String?
                    while Self.now() < deadline && !Task.isCancelled {
                        do {
                            let s = try await self.send(target, body: body)
                            if s.status == 200 { samples.append(s) } else {
                                errors += 1
                                if firstError == nil { firstError = "HTTP \(s.status)" }
                            }
                        } catch {
                            errors += 1
                            if firstError == nil { firstError = "\(error)" }
                        }
                    }
                    return (samples, errors, firstError)
                }
            }
            var all: [([Sample], Int, String?)] = []
            for await r in group { all.append(r) }
            return all
        }
        let elapsed = Self.now() - start
        return LoadResult(samples: results.flatMap { $0.0 }, errors: results.reduce(0) { $0 + $1.1 },
                          firstError: results.compactMap { $0.2 }.first, elapsedNanos: elapsed)
    }
}

/// Order statistics of a set of durations, in milliseconds.
public struct LatencySummary: Sendable {
    public var count: Int
    public var p50: Double
    public var p90: Double
    public var p99: Double
    public var mean: Double
    public var min: Double
    public var max: Double

    public init(nanos: [UInt64]) {
        let sorted = nanos.sorted()
        count = sorted.count
        func ms(_ v: UInt64) -> Double { Double(v) / 1e6 }
        func pct(_ p: Double) -> Double {
            guard !sorted.isEmpty else { return 0 }
            // Nearest rank.
            let rank = Int((p / 100 * Double(sorted.count)).rounded(.up))
            return ms(sorted[Swift.min(Swift.max(rank, 1), sorted.count) - 1])
        }
        p50 = pct(50)
        p90 = pct(90)
        p99 = pct(99)
        mean = sorted.isEmpty ? 0 : Double(sorted.reduce(0, +)) / Double(sorted.count) / 1e6
        min = sorted.first.map(ms) ?? 0
        max = sorted.last.map(ms) ?? 0
    }

    /// Signed per-pair differences (b − a) summarised: p50 of the differences is robust to
    /// slow spells that hit both requests of a pair.
    public static func pairedDifferences(_ a: [UInt64], _ b: [UInt64]) -> (p50: Double, p99: Double, mean: Double) {
        let d = zip(a, b).map { Int64(bitPattern: $1 &- $0) }.sorted()
        guard !d.isEmpty else { return (0, 0, 0) }
        func at(_ p: Double) -> Double {
            let rank = Int((p / 100 * Double(d.count)).rounded(.up))
            return Double(d[Swift.min(Swift.max(rank, 1), d.count) - 1]) / 1e6
        }
        return (at(50), at(99), Double(d.reduce(0, +)) / Double(d.count) / 1e6)
    }
}
