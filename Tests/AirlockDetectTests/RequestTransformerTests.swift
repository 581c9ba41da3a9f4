import AirlockCore
import Testing
@testable import AirlockDetect

@Suite("JSON-aware request scanning")
struct RequestTransformerTests {
    let transformer = RequestTransformer(scanner: scanner, operators: Operators(hashKey: Array("k".utf8)))

    let request = #"""
    {"model":"gpt-4o","messages":[
      {"role":"system","content":"You help jane@example.com"},
      {"role":"user","name":"jane@example.com","content":[{"type":"text","text":"Call me on 010-1234-5678"},{"type":"image_url","image_url":{"url":"https://x.example.com/a.png"}}]},
      {"role":"assistant","tool_calls":[{"id":"call_1","type":"function","function":{"name":"send_mail","arguments":"{\"to\":\"jane@example.com\"}"}}]},
      {"role":"tool","tool_call_id":"call_1","content":"sent to jane@example.com"}
    ],"user":"jane@example.com","metadata":{"owner_email":"x@example.com"}}
    """#

    @Test("scans user-controlled strings only, with paths")
    func scanPaths() throws {
        let found = transformer.scan(request: try JSONValue(parsing: request))
        #expect(found.map(\.path) == ["messages[0].content", "messages[1].content[0].text", "messages[1].name", "messages[2].tool_calls[0].function.arguments", "messages[3].content",
                                       "user", "metadata.owner_email"])
    }

    @Test("findings from scan(request:) give the same rewrite as scanning again")
    func transformReusesLocatedFindings() throws {
        let json = try JSONValue(parsing: request)
        var fresh = Vault()
        var reused = Vault()
        let a = transformer.transform(request: json, actions: Action.defaultAction(for:), vault: &fresh)
        let b = transformer.transform(request: json, located: transformer.scan(request: json), actions: Action.defaultAction(for:), vault: &reused)
        #expect(a.request == b.request)
        #expect(a.summary == b.summary)
        #expect(b.summary.entries.count == 7)
    }

    @Test("findings passed in another order than the walk's still rewrite every value")
    func transformWithFindingsOutOfOrder() throws {
        let json = try JSONValue(parsing: request)
        let located = transformer.scan(request: json)
        var inOrder = Vault()
        var shuffled = Vault()
        let a = transformer.transform(request: json, located: located, actions: { _ in .pseudonymize }, vault: &inOrder)
        // Reversed: every string's findings come back in two non-adjacent runs' worth of order.
        let b = transformer.transform(request: json, located: Array(located.reversed()), actions: { _ in .pseudonymize }, vault: &shuffled)
        #expect(a.request == b.request)
        #expect(a.summary == b.summary)
        #expect(!b.request.serialized.contains("jane@example.com") && !b.request.serialized.contains("010-1234-5678"))
        // Two runs for one string (its findings split around another string's): nothing is lost.
        let two = try JSONValue(parsing: #"{"messages":[{"role":"user","content":"a1@example.com b2@example.com"},{"role":"user","content":"c3@example.com"}]}"#)
        let found = transformer.scan(request: two)
        #expect(found.count == 3)
        var vault = Vault()
        let split = transformer.transform(request: two, located: [found[0], found[2], found[1]], actions: { _ in .pseudonymize }, vault: &vault)
        #expect(split.summary.entries.count == 3)
        #expect(!split.request.serialized.contains("@example.com"))
    }

    @Test("placeholder numbers past 9 are written whole, and restore")
    func manyPlaceholders() throws {
        let addresses = (1...23).map { "user\($0)@example.com" }
        let json = JSONValue.object(["messages": .array([.object(["role": "user", "content": .string(addresses.joined(separator: ", "))])])])
        var vault = Vault()
        let r = transformer.transform(request: json, actions: { _ in .pseudonymize }, vault: &vault)
        let sent = r.request.serialized
        #expect(sent.contains("<EMAIL_ADDRESS_9>, <EMAIL_ADDRESS_10>") && sent.contains("<EMAIL_ADDRESS_23>"))
        #expect(vault.count == 23 && vault.types == [.emailAddress])
        #expect(vault.original(for: "<EMAIL_ADDRESS_10>") == "user10@example.com")
        #expect(vault.restore("<EMAIL_ADDRESS_20> and <EMAIL_ADDRESS_3>") == "user20@example.com and user3@example.com")
    }

    /// Every place the transformer rewrites, each holding a value.
    let everywhere = #"""
    {"model":"m","messages":[
      {"role":"user","content":"mail ann@example.com","name":"bob@example.com"},
      {"role":"user","content":["part carol@example.com",{"type":"text","text":"dan@example.com"},{"type":"image_url","image_url":{"url":"https://x.example.com/a.png"}}]},
      {"role":"assistant","reasoning_content":"eve@example.com","function_call":{"name":"f","arguments":"{\"to\":\"fay@example.com\"}"},
       "tool_calls":[{"id":"c1","type":"function","function":{"name":"g","arguments":"gus@example.com"}}]}
    ],"prompt":"hal@example.com","input":["ivy@example.com"],"user":"jon@example.com",
      "metadata":{"a":"kim@example.com","b":"nothing here"},"prediction":{"type":"content","content":"lee@example.com"}}
    """#

    @Test("fingerprints made later equal the ones transform makes, in the same order")
    func deferredFingerprints() throws {
        let json = try JSONValue(parsing: everywhere)
        let located = transformer.scan(request: json)
        #expect(located.count == 12)
        var withPrints = Vault()
        var withoutPrints = Vault()
        let a = transformer.transform(request: json, located: located, actions: { _ in .pseudonymize }, vault: &withPrints)
        let b = transformer.transform(request: json, located: located, actions: { _ in .pseudonymize }, vault: &withoutPrints, fingerprints: false)
        #expect(a.request == b.request)
        #expect(withPrints == withoutPrints)
        #expect(b.summary.entries.allSatisfy { $0.fingerprint.isEmpty })
        #expect(a.summary.entries.map(\.path) == b.summary.entries.map(\.path))
        let later = RequestTransformer.fingerprints(of: located, in: json, operators: transformer.operators)
        #expect(later == a.summary.entries.map(\.fingerprint))
        #expect(Set(later).count == 12 && later.allSatisfy { $0.count == 64 })
        #expect(later[0] == transformer.operators.fingerprint("ann@example.com", type: .emailAddress))
        #expect(RequestTransformer.fingerprints(of: [], in: json, operators: transformer.operators).isEmpty)
    }

    @Test("every scanned place is rewritten; everything else, and an unchanged request, stays as sent")
    func rewritesEveryPlace() throws {
        let json = try JSONValue(parsing: everywhere)
        var vault = Vault()
        let r = transformer.transform(request: json, actions: { _ in .pseudonymize }, vault: &vault)
        let out = r.request.serialized
        for name in ["ann", "bob", "carol", "dan", "eve", "fay", "gus", "hal", "ivy", "jon", "kim", "lee"] {
            #expect(!out.contains("\(name)@example.com"), "\(name) was forwarded")
        }
        #expect(vault.count == 12)
        #expect(r.request["metadata"]?["b"]?.stringValue == "nothing here")
        #expect(r.request["prediction"]?["type"]?.stringValue == "content")
        #expect(out.contains("https://x.example.com/a.png"))
        var untouched = Vault()
        let kept = transformer.transform(request: json, actions: { _ in .allow }, vault: &untouched)
        #expect(kept.request == json)
        #expect(kept.summary.entries.count == 12 && untouched.isEmpty)
    }

    @Test("pseudonymizes consistently; the upstream never sees a replaced value; structure untouched")
    func transform() throws {
        var vault = Vault()
        let r = transformer.transform(request: try JSONValue(parsing: request), actions: Action.defaultAction(for:), vault: &vault)
        let out = r.request.serialized
        // Everywhere, including the end-user id and metadata values.
        #expect(!out.contains("jane@example.com") && !out.contains("x@example.com"))
        #expect(out.contains(#""user":"<EMAIL_ADDRESS_1>""#))
        #expect(!out.contains("010-1234-5678"))
        #expect(out.contains(#""arguments":"{\"to\":\"<EMAIL_ADDRESS_1>\"}""#))
        #expect(out.contains(#""role":"tool","tool_call_id":"call_1""#))
        #expect(out.contains("https://x.example.com/a.png"))
        #expect(vault.original(for: "<EMAIL_ADDRESS_1>") == "jane@example.com")
        #expect(r.summary.counts[.emailAddress] == 6)
        #expect(!r.blocked)
        // Summaries carry fingerprints, never values.
        for e in r.summary.entries { #expect(e.fingerprint.count == 64 && !e.fingerprint.contains("@")) }
    }

    @Test("a block action is reported and the value is still not forwarded")
    func block() throws {
        var vault = Vault()
        let req = try JSONValue(parsing: #"{"messages":[{"role":"user","content":"my key AKIAIOSFODNN7EXAMPLE"}]}"#)
        let r = transformer.transform(request: req, actions: { $0.isSecret ? .block : .allow }, vault: &vault)
        #expect(r.blocked)
        #expect(r.summary.blockedTypes == [.awsAccessKey])
        #expect(!r.request.serialized.contains("AKIAIOSFODNN7EXAMPLE"))
    }

    @Test("placeholders typed literally by the user are never handed out")
    func literalPlaceholders() throws {
        var vault = Vault()
        let req = try JSONValue(parsing: #"{"messages":[{"role":"user","content":"Keep <EMAIL_ADDRESS_1> as is; mail bob@example.com"}]}"#)
        let r = transformer.transform(request: req, actions: Action.defaultAction(for:), vault: &vault)
        #expect(r.request.serialized.contains("<EMAIL_ADDRESS_2>"))
        #expect(vault.restore("<EMAIL_ADDRESS_1> <EMAIL_ADDRESS_2>") == "<EMAIL_ADDRESS_1> bob@example.com")
    }
}

extension String {
    func replacingOccurrences(_ a: String, _ b: String) -> String {
        guard !a.isEmpty else { return self }
        var out = ""
        var rest = self[...]
        while let r = rest.range(of: a) { out += rest[..<r.lowerBound]; out += b; rest = rest[r.upperBound...] }
        return out + rest
    }
}

extension Substring {
    func range(of s: String) -> Range<Substring.Index>? {
        var i = startIndex
        while i < endIndex {
            if self[i...].hasPrefix(s) { return i..<index(i, offsetBy: s.count) }
            i = index(after: i)
        }
        return nil
    }
}
