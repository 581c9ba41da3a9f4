import AirlockCore
import Testing
@testable import AirlockDetect

@Suite("Streaming restore and output scanning")
struct StreamTests {
    func vault() -> Vault {
        var v = Vault()
        _ = v.placeholder(for: "jane@example.com", type: .emailAddress)
        _ = v.placeholder(for: "010-1234-5678", type: .phoneNumber)
        return v
    }

    @Test("a placeholder split across many chunks is restored")
    func splitPlaceholder() {
        var r = StreamRestorer(vault: vault())
        var out = ""
        for c in ["Write to <EMA", "IL_", "ADDR", "ESS", "_1", "> or call <PHONE_NUMBER_1", ">."] { out += r.feed(c) }
        out += r.finish()
        #expect(out == "Write to jane@example.com or call 010-1234-5678.")
    }

    @Test("only bytes that could start a placeholder are held back")
    func minimalHoldBack() {
        var r = StreamRestorer(vault: vault())
        #expect(r.feed("Hello there, ") == "Hello there, ")
        #expect(r.feed("write to <EM") == "write to ")
        #expect(r.heldBackCount == 3)
        #expect(r.feed("BER") == "<EMBER")      // not a placeholder after all
        #expect(r.feed("Some text E") == "Some text ")
        #expect(r.feed("very") == "Every")
        #expect(r.finish() == "")
    }

    @Test("property: restore(pseudonymize(x)) == x for random texts and random chunkings")
    func roundTrip() {
        var rng = TestRNG(7)
        let pieces = ["hello", "안녕하세요", "你好", "こんにちは", " ", ", ", "\n", "<", ">", "_", "1", "EMAIL", "jane@example.com", "bob@example.org",
                      "010-1234-5678", "4111 1111 1111 1111", "김민수님", "Mary Johnson", "AKIAIOSFODNN7EXAMPLE", "192.168.1.10", "<b>", "PERSON", "e"]
        let ops = Operators(hashKey: [1, 2, 3])
        for _ in 0..<300 {
            var x = ""
            for _ in 0..<Int.random(in: 1...25, using: &rng) { x += pieces.randomElement(using: &rng)! }
            var v = Vault()
            let p = ops.apply(x, findings: scanner.scan(x), action: { _ in .pseudonymize }, vault: &v).text
            var r = StreamRestorer(vault: v)
            var out = ""
            for c in randomChunks(p, rng: &rng) { out += r.feed(c) }
            out += r.finish()
            #expect(out == x)
        }
    }

    @Test("output guard redacts a secret the model produced, across chunk boundaries")
    func outputGuard() {
        var g = StreamOutputGuard(scanner: scanner, operators: Operators(hashKey: [0]), actions: Action.defaultAction(for:))
        var out = ""
        for c in ["Your key is AKIAIOSF", "ODNN7EXA", "MPLE and mail ", "is jane@exa", "mple.com ok"] { out += g.feed(c) }
        out += g.finish()
        #expect(out == "Your key is [AWS_ACCESS_KEY] and mail is jane@example.com ok")
        #expect(g.applied.map(\.type) == [.awsAccessKey, .emailAddress])
        // Only the rewritten key carries a fingerprint; the e-mail passed through unchanged.
        #expect(!g.applied[0].fingerprint.isEmpty && g.applied[1].fingerprint.isEmpty)
    }

    @Test("output guard emits ordinary prose without waiting for the stream to end")
    func outputGuardLatency() {
        var g = StreamOutputGuard(scanner: scanner, operators: Operators(hashKey: [0]), actions: Action.defaultAction(for:))
        let first = g.feed("The quick brown fox jumps over the lazy dog ")
        #expect(first == "The quick brown fox jumps over the lazy dog ")
        #expect(g.feed("again") == "")
        #expect(g.finish() == "again")
    }

    @Test("chat stream rewriter restores content, reasoning_content and tool arguments")
    func chatStream() throws {
        var rw = ChatStreamRewriter(vault: vault(), scanner: scanner, operators: Operators(hashKey: [0]), actions: Action.defaultAction(for:))
        func chunk(_ delta: String, finish: String? = nil) throws -> JSONValue {
            try JSONValue(parsing: #"{"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":\#(delta),"finish_reason":\#(finish.map { "\"\($0)\"" } ?? "null")}]}"#)
        }
        var content = "", reasoning = "", args = ""
        let chunks = [
            try chunk(#"{"reasoning_content":"User gave <EMAIL_"}"#),
            try chunk(#"{"reasoning_content":"ADDRESS_1>."}"#),
            try chunk(#"{"content":"Sure, <PHONE_"}"#),
            try chunk(#"{"tool_calls":[{"index":0,"function":{"arguments":"{\"to\":\"<EMAIL"}}]}"#),
            try chunk(#"{"tool_calls":[{"index":0,"function":{"arguments":"_ADDRESS_1>\"}"}}]}"#),
            try chunk(#"{"content":"NUMBER_1> works"}"#, finish: "stop"),
        ]
        for c in chunks {
            let o = rw.rewrite(c)
            let d = o["choices"]!.arrayValue![0]["delta"]!
            content += d["content"]?.stringValue ?? ""
            reasoning += d["reasoning_content"]?.stringValue ?? ""
            args += d["tool_calls"]?.arrayValue?.first?["function"]?["arguments"]?.stringValue ?? ""
        }
        #expect(rw.finish().isEmpty)
        #expect(reasoning == "User gave jane@example.com.")
        #expect(content == "Sure, 010-1234-5678 works")
        #expect(args == #"{"to":"jane@example.com"}"#)
    }

    @Test("non-streamed responses are restored and scanned")
    func responseRestorer() throws {
        let body = try JSONValue(parsing: #"{"choices":[{"index":0,"message":{"role":"assistant","content":"Mail <EMAIL_ADDRESS_1>; my key is ghp_0123456789abcdefghijABCDEFGHIJ012345"}}]}"#)
        let r = ResponseRestorer(vault: vault(), scanner: scanner, operators: Operators(hashKey: [0]), actions: Action.defaultAction(for:)).rewrite(body)
        #expect(r.response["choices"]?.arrayValue?[0]["message"]?["content"]?.stringValue == "Mail jane@example.com; my key is [GITHUB_TOKEN]")
    }

    @Test("an answer with nothing to restore or redact is reported unchanged, so its bytes pass through")
    func responseRestorerReportsUnchanged() throws {
        let restorer = ResponseRestorer(vault: vault(), scanner: scanner, operators: Operators(hashKey: [0]), actions: Action.defaultAction(for:))
        let clean = try JSONValue(parsing: #"{"choices":[{"index":0,"message":{"role":"assistant","content":"Paris is the capital.","tool_calls":[{"function":{"name":"f","arguments":"{}"}}]}}]}"#)
        #expect(restorer.rewriteIfChanged(clean) == nil)
        let placeholder = try JSONValue(parsing: #"{"choices":[{"index":0,"message":{"role":"assistant","content":"Write to <EMAIL_ADDRESS_1>"}}]}"#)
        #expect(restorer.rewriteIfChanged(placeholder)?.response["choices"]?.arrayValue?[0]["message"]?["content"]?.stringValue == "Write to jane@example.com")
        let secret = try JSONValue(parsing: #"{"choices":[{"index":0,"message":{"role":"assistant","content":"ok","tool_calls":[{"function":{"name":"f","arguments":"ghp_0123456789abcdefghijABCDEFGHIJ012345"}}]}}]}"#)
        let redacted = restorer.rewriteIfChanged(secret)
        #expect(redacted?.response["choices"]?.arrayValue?[0]["message"]?["tool_calls"]?.arrayValue?[0]["function"]?["arguments"]?.stringValue == "[GITHUB_TOKEN]")
    }
}
