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

    /// Strings are parsed without validation only when every byte is ASCII: a byte that is
    /// not valid UTF-8 after an ASCII run is still refused, and valid non-ASCII text is kept.
    @Test func parsesASCIIAndNonASCIIStringsAndRefusesInvalidBytesAfterAnASCIIRun() throws {
        #expect(try JSONValue(parsing: #"{"model":"gpt","content":"Müller 김민수 😀"}"#)["content"]?.stringValue == "Müller 김민수 😀")
        let invalid: [UInt8] = [0x22, 0x61, 0x62, 0xFF, 0x22]
        #expect(throws: JSONParseError(code: .invalidUTF8, offset: 1)) { try JSONValue(parsing: invalid) }
        let truncated: [UInt8] = [0x22, 0x61, 0xE2, 0x82, 0x22]
        #expect(throws: JSONParseError(code: .invalidUTF8, offset: 1)) { try JSONValue(parsing: truncated) }
    }

    /// Serialization escapes quotes, backslashes and control characters wherever they are
    /// (first byte, last byte, side by side, in short and long strings) and copies the rest.
    @Test func serializationEscapesWhatJSONRequiresAndKeepsTheRest() throws {
        #expect(JSONValue.string("a\"b\\c\n\r\t\u{01}\u{1F}é😀").serialized == #""a\"b\\c\n\r\t\u0001\u001fé😀""#)
        #expect(JSONValue.string("\u{00}").serialized == #""\u0000""#)
        #expect(JSONValue.string("").serialized == #""""#)
        for length in [0, 1, 14, 15, 16, 100, 1000] {
            for escape in ["\"", "\\", "\n", "\u{02}", "\u{7F}"] {
                let text = escape + String(repeating: "x", count: length) + escape + escape + "é" + escape + (length % 2 == 0 ? "" : "z")
                let bytes = JSONValue.object(["k\(escape)": .string(text)]).serializedBytes
                #expect(!bytes.contains { $0 < 0x20 })
                let back = try JSONValue(parsing: bytes)
                #expect(back["k\(escape)"]?.stringValue == text)
            }
        }
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
