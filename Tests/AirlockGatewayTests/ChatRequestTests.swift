import AirlockCore
import Testing
@testable import AirlockGateway

@Suite struct ChatRequestTests {
    func parse(_ s: String) throws(AirlockError) -> ChatRequest { try ChatRequest.parse(Array(s.utf8)) }

    @Test func readsModelStreamAndUsageOption() throws {
        let r = try parse(#"{"model":"m","messages":[{"role":"user","content":"x"}],"stream":true,"stream_options":{"include_usage":true},"x":1}"#)
        #expect(r.model == "m" && r.stream && r.includeUsage)
        #expect(String(decoding: r.serialized, as: UTF8.self).hasSuffix(#""x":1}"#))
    }

    @Test(arguments: [
        (#"{"messages":[{"role":"user"}]}"#, "model"),
        (#"{"model":3,"messages":[{"role":"user"}]}"#, "model"),
        (#"{"model":"m"}"#, "messages"),
        (#"{"model":"m","messages":{}}"#, "messages"),
        (#"{"model":"m","messages":["hi"]}"#, "messages[0]"),
        (#"{"model":"m","messages":[{"content":"hi"}]}"#, "messages[0].role"),
        (#"{"model":"m","messages":[{"role":"user"}],"stream":"yes"}"#, "stream"),
    ])
    func invalidRequestsNameTheParameter(body: String, param: String) {
        do {
            _ = try parse(body)
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .invalidRequest)
            #expect(error.param == param)
            #expect(error.httpStatus == 400)
        }
    }

    @Test func malformedJSONIsInvalidJSON() {
        for body in ["", "{", "[]", "null", "{\"model\":}"] {
            #expect(throws: AirlockError.self) { try parse(body) }
        }
    }

    @Test func requestIDsFromClientsAreSanitised() {
        #expect(RequestID.accept("abc-123_XYZ.9") == "abc-123_XYZ.9")
        #expect(RequestID.accept("short") == nil)
        #expect(RequestID.accept("evil\r\nx-injected: 1") == nil)
        #expect(RequestID.accept(String(repeating: "a", count: 65)) == nil)
        #expect(RequestID.make().hasPrefix("req_"))
        #expect(RequestID.make() != RequestID.make())
        // Our own ids: "req_" and 32 lowercase hex digits, which `accept` takes back.
        for _ in 0..<200 {
            let id = RequestID.make()
            #expect(id.utf8.count == 36)
            #expect(id.dropFirst(4).allSatisfy { ("0"..."9").contains($0) || ("a"..."f").contains($0) })
            #expect(RequestID.accept(id) == id)
        }
        #expect(Set((0..<200).map { _ in RequestID.make().dropFirst(4).first! }).count > 8)
    }
}
