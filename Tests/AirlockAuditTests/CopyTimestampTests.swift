import Foundation
import Testing
@testable import AirlockAudit

/// The COPY rows carry timestamps as PostgreSQL timestamptz text; the chain hash is computed
/// from the same microseconds, so a wrong digit would make a stored row fail verification.
@Suite struct CopyTimestampTests {
    func text(_ micros: Int64) -> String {
        var out: [UInt8] = Array("x".utf8)
        UTCDay.appendTimestamp(micros, to: &out)
        return String(decoding: out.dropFirst(), as: UTF8.self)
    }

    @Test func everyComponentIsZeroPaddedToItsWidth() {
        #expect(text(0) == "1970-01-01 00:00:00.000000+00")
        // 2026-12-03 13:05:09.000042 UTC
        #expect(text(1_796_303_109_000_042) == "2026-12-03 13:05:09.000042+00")
        // The last microsecond of a leap day.
        #expect(text(951_868_799_999_999) == "2000-02-29 23:59:59.999999+00")
    }

    @Test func theTextMatchesFoundationsCalendarForArbitraryInstants() {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let micros = Int64.random(in: 0..<4_102_444_800_000_000, using: &generator)  // until 2100
            let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: Date(timeIntervalSince1970: Double(micros / 1_000_000)))
            let expected = String(format: "%04d-%02d-%02d %02d:%02d:%02d.%06d+00", c.year!, c.month!, c.day!, c.hour!, c.minute!, c.second!,
                                  Int(micros % 1_000_000))
            #expect(text(micros) == expected)
        }
    }
}
