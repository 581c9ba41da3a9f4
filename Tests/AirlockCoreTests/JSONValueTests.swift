import Testing
@testable import AirlockCore

@Suite struct JSONValueTests {
    @Test func roundTripKeepsOrderNumbersAndUnknownFields() throws {
        let text = #"{"model":"deepseek-reasoner","z":1,"a":12345678901234567890,"f":1.50e3,"nested":{"reasoning_content":"why","x":[true,false,null]}}"#
        let value = try JSONValue(parsing: text)
        #expect(value.serialized == text)
        #expect(value["nested"]?["reasoning_content"]?.stringValue == "why")
        #expect(value["model"]?.stringValue == "deepseek-reasoner")
    }

    @Test func decodesEscapesAndSurrogatePairs() throws {
        let value = try JSONValue(parsing: #""a\n\"b\" \u00e9 \ud83d\ude00 \uD55C""#)
        #expect(value.stringValue == "a\n\"b\" é 😀 한")
        #expect(value.serialized == "\"a\\n\\\"b\\\" é 😀 한\"")
    }

    @Test(arguments: [
        ("{", JSONParseError.Code.unexpectedEnd),
        ("{\"a\" 1}", .unexpectedByte),
        ("[1,]", .unexpectedByte),
        ("01", .trailingData),
        ("\"\\x\"", .invalidEscape),
        ("\"\\ud800\"", .invalidEscape),
        ("-", .invalidNumber),
        ("1.e5", .invalidNumber),
        ("{} x", .trailingData),
        ("\"a\u{01}\"", .unexpectedByte),
    ])
    func rejectsMalformedInput(text: String, code: JSONParseError.Code) {
        #expect(throws: JSONParseError.self) { try JSONValue(parsing: text) }
        do { _ = try JSONValue(parsing: text) } catch { #expect(error.code == code) }
    }

    @Test func rejectsInvalidUTF8() {
        let bytes: [UInt8] = [0x22, 0xC3, 0x28, 0x22]
        #expect(throws: JSONParseError(code: .invalidUTF8, offset: 1)) { try JSONValue(parsing: bytes) }
    }

    @Test func boundsNestingDepth() throws {
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        #expect(throws: JSONParseError.self) { try JSONValue(parsing: deep) }
        let ok = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        #expect(try JSONValue(parsing: ok).arrayValue?.count == 1)
    }

    @Test func objectSubscriptSetAndRemove() {
        var o: JSONObject = ["a": 1, "b": 2]
        o["a"] = "x"
        o["c"] = true
        o["b"] = nil
        #expect(JSONValue.object(o).serialized == #"{"a":"x","c":true}"#)
    }
}
