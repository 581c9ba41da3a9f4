import AirlockCore
import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOPosix
import Testing
@testable import AirlockUpstream

/// Streamed answers over the same-loop pool: handed on part by part as they arrive, bounded
/// by the read timeout between parts (not while the consumer is behind), and a stream the
/// consumer drops closes its connection.
@Suite struct PinnedStreamTests {
    private static let logger = Logger(label: "pinned-stream-test")

    private func stream(_ client: UpstreamClient, _ server: UpstreamStub, path: String) async throws -> UpstreamClient.Response {
        try await client.post(server.endpoint, path: path, body: Array("{}".utf8), requestID: "req_test", logger: Self.logger,
                              streaming: true, on: UpstreamPath.clientLoop)
    }

    @Test func partsArriveAsTheyAreSentAndTheConnectionIsReused() async throws {
        try await withUpstream(.pinned) { server, client in
            let gate = UUID().uuidString
            let response = try await stream(client, server, path: "/sse?gate=\(gate)")
            #expect(response.status == 200)
            #expect(response.isEventStream)
            var parts = response.body.makeAsyncIterator()
            // The stub holds the rest of the answer until the gate opens: the first event
            // must reach us before that.
            let first = try await parts.next()
            #expect(first.map { String(buffer: $0) } == StubResponder.firstEvent)
            StreamGates.open(gate)
            var rest = ""
            while let part = try await parts.next() { rest += String(buffer: part) }
            #expect(rest == StubResponder.laterEvents)
            // The finished stream left its connection in the pool for the next call.
            let next = try await UpstreamPath.pinned.post(client, server.endpoint, path: "/ok", body: Array("{}".utf8))
            #expect(String(buffer: try await next.collect(upTo: 1 << 20)) == UpstreamStub.answer)
            #expect(server.recorder.connections() == 1)
        }
    }

    /// The stub sends one event, then nothing: the next read fails once the read timeout has
    /// passed. 1.5 s rather than 300 ms, so a test process starved by the suites running in
    /// parallel on two cores still gets the head and first event in time (300 ms did not).
    @Test func aStreamThatStallsFailsAfterTheReadTimeout() async throws {
        try await withUpstream(.pinned, read: .milliseconds(1_500)) { server, client in
            let started = ContinuousClock.now
            let response = try await stream(client, server, path: "/sse-stall")
            var parts = response.body.makeAsyncIterator()
            #expect(try await parts.next().map { String(buffer: $0) } == StubResponder.firstEvent)
            await #expect(throws: (any Error).self) { _ = try await parts.next() }
            #expect(ContinuousClock.now - started < .seconds(20))
        }
    }

    /// Only the drop can close it within the wait: the read timeout is longer than the wait, and
    /// the wait leaves room for a test process starved by the suites running beside it (10 s did
    /// not, once, in a fresh-clone CI run).
    @Test func droppingTheStreamClosesItsConnection() async throws {
        try await withUpstream(.pinned, read: .seconds(120)) { server, client in
            do {
                let response = try await stream(client, server, path: "/sse-stall")
                var parts = response.body.makeAsyncIterator()
                _ = try await parts.next()
            }  // the client went away: response and iterator are gone
            let deadline = ContinuousClock.now + .seconds(45)  // before the 60 s total timeout
            while !server.recorder.sawClose() && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
            #expect(server.recorder.sawClose())
        }
    }

    /// 32 MB offered at once to a consumer that stops after the first part: the pool stops
    /// reading (so the provider's writes back up in the socket buffers instead of piling up in
    /// Airlock's memory), a pause longer than the read timeout is not a timeout, and every
    /// byte arrives once the consumer reads on. The read timeout leaves room for a test
    /// process starved by the whole suite running in parallel on two cores (300 ms did not,
    /// and 1.5 s failed once while draining the 32 MB at a load average of 10).
    @Test func aSlowConsumerHoldsTheProviderBackWithoutTimingOut() async throws {
        try await withUpstream(.pinned, read: .seconds(4)) { server, client in
            let response = try await stream(client, server, path: "/sse-bulk")
            var parts = response.body.makeAsyncIterator()
            var received = try await parts.next()?.readableBytes ?? 0
            try await Task.sleep(for: .milliseconds(6_000))
            let writtenWhilePaused = server.recorder.bulkWritten()
            #expect(writtenWhilePaused < StubResponder.bulkChunks / 2, "the provider wrote \(writtenWhilePaused) of \(StubResponder.bulkChunks) chunks while nobody read")
            while let part = try await parts.next() { received += part.readableBytes }
            #expect(received == StubResponder.bulkChunks * StubResponder.bulkChunk.readableBytes)
        }
    }
}
