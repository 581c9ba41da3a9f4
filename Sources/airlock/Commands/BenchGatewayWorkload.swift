import AirlockCore
import AirlockGateway

/// Request bodies and the policy `airlock bench gateway` sends through the gateway.
enum BenchGatewayWorkload {
    /// An ordinary chat request without personal data (~0.5 KB).
    static func plainBody(stream: Bool = false) -> GatewayBenchClient.Payload {
        body(model: "bench-chat", stream: stream, user: """
            Summarise the attached meeting notes in three short bullet points for the weekly update. \
            The team discussed the roadmap for the next quarter, agreed to ship the billing export first, \
            asked design for two more iterations on the onboarding flow before user testing, and moved the \
            retrospective to Thursday afternoon because of the release freeze.
            """)
    }

    /// A prompt full of personal data (~1.7 KB, 30+ findings): emails, phone numbers, national ids,
    /// card and IBAN numbers that the default policy pseudonymizes, plus names and addresses it
    /// detects but lets through. Sent to the echoing model so pseudonyms come back to be restored.
    static func piiBody() -> GatewayBenchClient.Payload {
        body(model: "bench-echo", stream: false, user: """
            Please draft a polite reply to the customer below and update the CRM record.
            Customer: Jane Doe, email jane.doe@example.com, billing contact j.doe+billing@corp-mail.co.uk,
            phone +1 415-555-0132, mobile 010-1234-5678, office 02-3456-7890, fax +44 20 7946 0958.
            Korean resident registration number (주민등록번호) 900101-1234561; US SSN 123-45-6780.
            Payment: card 4111 1111 1111 1111 (expires 09/27), backup card 5500 0000 0000 0004,
            IBAN DE89 3704 0044 0532 0130 00, second account GB82 WEST 1234 5698 7654 32.
            Her manager Minjun Kim (m.kim@example.kr, +82 10-9876-5432) approved the refund; the
            assistant Sarah Connor (sarah.connor@example.org, 415-555-0199) will call back.
            Passport M12345678. The last login came from 203.0.113.7.
            Previous tickets were raised by tom.hardy@example.net (phone 010-2222-3333) and by
            li.wei@example.cn (+86 138 0013 8000). Send the confirmation to all of them and to
            accounts@example.com, and quote the case number 48213 in the subject line.
            """)
    }

    static func body(model: String, stream: Bool, user: String) -> GatewayBenchClient.Payload {
        var members: [(key: String, value: JSONValue)] = [
            ("model", .string(model)),
            ("messages", .array([
                .object(JSONObject([("role", .string("system")), ("content", .string("You are a concise, helpful assistant."))])),
                .object(JSONObject([("role", .string("user")), ("content", .string(user))])),
            ])),
            ("max_tokens", .int(128)),
            ("temperature", .number("0.2")),
        ]
        if stream { members.append(("stream", .bool(true))) }
        return GatewayBenchClient.Payload(JSONValue.object(JSONObject(members)).serializedBytes)
    }

    /// Policies/default.yaml with rate limits lifted so thousands of back-to-back requests are
    /// measured rather than refused with 429; rules (and so the scanning work) are unchanged.
    static let policyYAML = """
        apiVersion: airlock/v1
        kind: Policy
        name: bench-default
        description: Policies/default.yaml with benchmark-sized rate limits.
        mode: enforce
        defaults:
          action: allow
          destinations: ["*"]
          local: allowed
          min_score: 0.5
        rules:
          - id: block-credentials
            when: { entities: [secrets] }
            action: block
          - id: pseudonymize-identifiers
            when: { entities: [national_ids, financial] }
            action: pseudonymize
          - id: pseudonymize-contact-details
            when: { entities: [EMAIL_ADDRESS, PHONE_NUMBER], min_score: 0.7 }
            action: pseudonymize
        retention:
          audit_days: 90
          payload_days: 0
          capture_payloads: false
          fail_closed: false
        limits:
          requests_per_minute: 100000000
          tokens_per_day: 1000000000000

        """
}
