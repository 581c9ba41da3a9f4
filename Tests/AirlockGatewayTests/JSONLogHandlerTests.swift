import Foundation
import Logging
import Synchronization
import Testing
@testable import AirlockGateway

@Suite struct JSONLogHandlerTests {
    final class Lines: Sendable {
        let store = Mutex<[String]>([])
        var all: [String] { store.withLock { $0 } }
        var sink: JSONLogHandler.Sink { JSONLogHandler.Sink { bytes in self.store.withLock { $0.append(String(decoding: bytes, as: UTF8.self)) } } }
    }

    func object(_ line: String) throws -> [String: Any] {
        #expect(line.hasSuffix("\n") && line.dropLast().firstIndex(of: "\n") == nil, "one line per record")
        return try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
    }

    @Test func writesOneJSONObjectPerLineWithMetadata() throws {
        let lines = Lines()
        var logger = Logger(label: "airlock") { JSONLogHandler(label: $0, sink: lines.sink, metadataProvider: nil) }
        logger.logLevel = .trace
        logger[metadataKey: "request_id"] = "req_0123456789abcdef"
        logger.info("request rejected", metadata: ["code": "invalid_api_key", "message": "collides", "n": "\(3)",
                                                   "list": .array(["a", "b"]), "nested": ["k": "v"]])
        logger.trace("quote \" backslash \\ newline \n tab \t bell \u{07} 한국어")
        let all = lines.all
        #expect(all.count == 2)
        let first = try object(all[0])
        #expect(first["level"] as? String == "info")
        #expect(first["label"] as? String == "airlock")
        #expect(first["message"] as? String == "request rejected")
        #expect(first["request_id"] as? String == "req_0123456789abcdef")
        #expect(first["code"] as? String == "invalid_api_key")
        #expect(first["meta.message"] as? String == "collides")
        #expect(first["list"] as? [String] == ["a", "b"])
        #expect((first["nested"] as? [String: String])?["k"] == "v")
        #expect(first["source"] as? String == "AirlockGatewayTests")
        let ts = try #require(first["timestamp"] as? String)
        #expect(ts.count == 24 && ts.hasSuffix("Z"), "RFC 3339 with milliseconds: \(ts)")
        let second = try object(all[1])
        #expect(second["message"] as? String == "quote \" backslash \\ newline \n tab \t bell \u{07} 한국어")
        #expect(second["level"] as? String == "trace")
    }

    @Test func timestampIsUTC() {
        #expect(JSONLogHandler.timestampText(Date(timeIntervalSince1970: 1_700_000_000.123)) == "2023-11-14T22:13:20.123Z")
    }

    @Test func libraryRecordsBelowTheFloorAreDropped() {
        let lines = Lines()
        let handler = LibraryLogFloor(JSONLogHandler(label: "airlock", sink: lines.sink, metadataProvider: nil), floor: .info)
        var h = handler
        h.logLevel = .trace
        // What PostgresNIO would emit at trace through the logger we hand it.
        h.log(event: LogEvent(level: .trace, message: "Backend message received", metadata: ["message": "DataRow(secret)"],
                              source: "PostgresNIO", file: #fileID, function: #function, line: #line))
        h.log(event: LogEvent(level: .debug, message: "request", metadata: nil, source: "AsyncHTTPClient",
                              file: #fileID, function: #function, line: #line))
        h.log(event: LogEvent(level: .warning, message: "library warning", metadata: nil, source: "PostgresNIO",
                              file: #fileID, function: #function, line: #line))
        h.log(event: LogEvent(level: .trace, message: "own trace", metadata: nil, source: "AirlockGateway",
                              file: #fileID, function: #function, line: #line))
        let all = lines.all.joined()
        #expect(!all.contains("secret"))
        #expect(!all.contains("AsyncHTTPClient"))
        #expect(all.contains("library warning"))
        #expect(all.contains("own trace"))
    }

    @Test func formatComesFromTheEnvironment() {
        #expect(LogFormat.from(environment: ["AIRLOCK_LOG_FORMAT": "JSON"], fallback: .text) == .json)
        #expect(LogFormat.from(environment: ["AIRLOCK_LOG_FORMAT": "text"], fallback: .json) == .text)
        #expect(LogFormat.from(environment: [:], fallback: .json) == .json)
        #expect(LogFormat.from(environment: ["AIRLOCK_LOG_FORMAT": "xml"], fallback: .text) == .text)
    }
}
