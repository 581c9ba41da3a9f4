import Testing
@testable import AirlockUpstream

/// Regressions found by the hostile-upstream tests and the SSE fuzz harness (Fuzz/fuzz-sse).
@Suite struct FuzzSSERegressionTests {
    /// An event of endless `data:` lines (each under the line bound) that never reaches its
    /// blank line used to grow the parser's memory without limit; now the event is bounded too.
    @Test func endlessEventIsBounded() {
        var p = SSEParser(maxLineBytes: 1024)
        let line = Array(("data: " + String(repeating: "x", count: 100) + "\n").utf8)
        #expect(throws: SSEParser.ParseError.eventTooLarge) {
            for _ in 0..<100 { _ = try p.feed(line) }
        }
    }

    /// Many small events in a row are fine: the bound is per event, not per stream.
    @Test func boundIsPerEvent() throws {
        var p = SSEParser(maxLineBytes: 1024)
        let event = Array(("data: " + String(repeating: "x", count: 600) + "\n\n").utf8)
        var count = 0
        for _ in 0..<100 { count += try p.feed(event).count }
        #expect(count == 100)
    }

    /// Noise without a field name, invalid UTF-8 and a bare CR are not events and never trap.
    @Test func noiseIsIgnored() throws {
        var p = SSEParser()
        let events = try p.feed([0x00, 0x01, 0xFF, 0xFE, 0x0A, 0x0A, 0x0D, 0x3A, 0x0D]
                                + Array("data: ok\r\n\r\n".utf8))
        #expect(events == [.init(data: "ok")])
    }
}
