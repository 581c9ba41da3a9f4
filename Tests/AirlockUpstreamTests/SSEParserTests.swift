import Foundation
import Testing
@testable import AirlockUpstream

@Suite struct SSEParserTests {
    let stream = "data: {\"a\":1}\n\n: keep-alive\n\nevent: ping\ndata: x\ndata: y\n\ndata: [DONE]\n\n"

    @Test func parsesEventsCommentsAndMultilineData() throws {
        var p = SSEParser()
        let events = try p.feed(Array(stream.utf8))
        #expect(events == [.init(data: "{\"a\":1}"), .init(event: "ping", data: "x\ny"), .init(data: "[DONE]")])
    }

    @Test func anyChunkingGivesTheSameEvents() throws {
        var whole = SSEParser()
        let expected = try whole.feed(Array(stream.replacingOccurrences(of: "\n", with: "\r\n").utf8))
        let bytes = Array(stream.replacingOccurrences(of: "\n", with: "\r\n").utf8)
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            var p = SSEParser()
            var got: [SSEParser.Event] = []
            var i = 0
            while i < bytes.count {
                let n = Int.random(in: 1...7, using: &rng)
                got += try p.feed(bytes[i..<min(bytes.count, i + n)])
                i += n
            }
            #expect(got == expected)
        }
    }

    @Test func unterminatedFinalEventIsDelivered() throws {
        var p = SSEParser()
        #expect(try p.feed(Array("data: tail".utf8)).isEmpty)
        #expect(p.finish() == .init(data: "tail"))
    }

    @Test func hostileLongLineIsBounded() {
        var p = SSEParser(maxLineBytes: 1024)
        #expect(throws: SSEParser.ParseError.lineTooLong) { try p.feed([UInt8](repeating: 0x61, count: 2048)) }
    }

    @Test func encodeRoundTrips() throws {
        let e = SSEParser.Event(event: "x", data: "line1\nline2", id: "7")
        var p = SSEParser()
        #expect(try p.feed(e.encoded) == [e])
    }
}
