import AirlockCore
import Testing
@testable import AirlockDetect

@Suite("Operators and the vault")
struct OperatorTests {
    let ops = Operators(hashKey: Array("tenant-a".utf8))

    @Test func redactAndMask() {
        #expect(ops.redact(.emailAddress) == "[EMAIL_ADDRESS]")
        #expect(ops.mask("4111-1111-1111-1234", type: .creditCard) == "****-****-****-1234")
        #expect(ops.mask("010-1234-5678", type: .phoneNumber) == "***-****-5678")
        #expect(ops.mask("jane@example.com", type: .emailAddress) == "j***@example.com")
        #expect(!ops.mask("sk-abcdefghijklmnop1234", type: .openAIAPIKey).contains("mnop1234"))
    }

    @Test("keyed hash is stable per tenant key and differs across keys")
    func keyedHash() {
        let a = ops.fingerprint("jane@example.com", type: .emailAddress)
        #expect(a == ops.fingerprint("jane@example.com", type: .emailAddress))
        #expect(a.count == 64)
        // Fingerprints stored in audit rows must stay comparable across releases: this is
        // HMAC-SHA256("tenant-a", "EMAIL_ADDRESS:jane@example.com") as any HMAC library gives it.
        #expect(Operators(hashKey: Array("tenant-a".utf8)).fingerprint("jane@example.com", type: .emailAddress)
                == "0ce5894c4f8d7b2adf431569166a8df05451db169e16247758a56c3ca6aa192a")
        #expect(a != Operators(hashKey: Array("tenant-b".utf8)).fingerprint("jane@example.com", type: .emailAddress))
        #expect(ops.hash("jane@example.com", type: .emailAddress) == "[EMAIL_ADDRESS:\(a.prefix(16))]")
    }

    @Test("same value, same placeholder; distinct values never collide")
    func pseudonyms() {
        var v = Vault()
        let p1 = v.placeholder(for: "a@x.com", type: .emailAddress)
        let p2 = v.placeholder(for: "b@x.com", type: .emailAddress)
        let p3 = v.placeholder(for: "a@x.com", type: .emailAddress)
        let p4 = v.placeholder(for: "Kim", type: .person)
        #expect(p1 == "<EMAIL_ADDRESS_1>" && p2 == "<EMAIL_ADDRESS_2>" && p3 == p1 && p4 == "<PERSON_1>")
        #expect(v.original(for: p2) == "b@x.com")
    }

    @Test("apply rewrites only findings, per action")
    func apply() {
        let text = "Mail jane@example.com, key AKIAIOSFODNN7EXAMPLE, card 4111 1111 1111 1111."
        var v = Vault()
        let r = ops.apply(text, findings: scanner.scan(text), action: { t in
            switch t { case .emailAddress: .pseudonymize; case .creditCard: .mask; default: .redact }
        }, vault: &v)
        #expect(r.text == "Mail <EMAIL_ADDRESS_1>, key [AWS_ACCESS_KEY], card **** **** **** 1111.")
        #expect(r.applied.map(\.type) == [.emailAddress, .awsAccessKey, .creditCard])
    }

    @Test("restore tolerates model mangling but never restores unknown or partial names")
    func restoreMangled() {
        var v = Vault()
        _ = v.placeholder(for: "jane@example.com", type: .emailAddress)
        _ = v.placeholder(for: "김민수", type: .person)
        #expect(v.restore("Hi <EMAIL_ADDRESS_1>!") == "Hi jane@example.com!")
        #expect(v.restore("Hi <email_address_1>, < Email Address 1 >, EMAIL_ADDRESS_1.") == "Hi jane@example.com, jane@example.com, jane@example.com.")
        #expect(v.restore("<PERSON_1 님") == "김민수 님")
        #expect(v.restore("PERSON_1> said") == "김민수 said")
        #expect(v.restore("<EMAIL_ADDRESS_2> and EMAIL_ADDRESS_12 and MY_EMAIL_ADDRESS_1") == "<EMAIL_ADDRESS_2> and EMAIL_ADDRESS_12 and MY_EMAIL_ADDRESS_1")
        #expect(v.restore("person 1 and email address 1") == "person 1 and email address 1")
    }

    @Test("action table overrides per type and falls back to the defaults")
    func actionTable() throws {
        let t = try ActionTable(names: ["EMAIL_ADDRESS": "redact", "URL": "block"])
        #expect(t.action(for: .emailAddress) == .redact)
        #expect(t.action(for: .url) == .block)
        #expect(t.action(for: .awsAccessKey) == .redact)
        #expect(t.action(for: .phoneNumber) == .pseudonymize)
        #expect(throws: ActionTableError.self) { try ActionTable(names: ["EMAIL": "redact"]) }
    }
}
