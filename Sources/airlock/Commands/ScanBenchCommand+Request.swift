import AirlockCore
import AirlockDetect

/// The detect-side work of one chat call, stage by stage: what the gateway does to a
/// personal-data prompt before it leaves and to the answer on its way back. Single-threaded
/// and without I/O, so two builds compare reliably even on a noisy machine (the end-to-end
/// latency benchmark in `bench/compare` cannot separate a few µs from its noise).
extension ScanBenchCommand {
    /// The answer the benchmark's mock provider gives to the personal-data prompt.
    static let benchAnswer = #"{"id":"chatcmpl-bench","object":"chat.completion","created":1764400000,"model":"bench-pii","choices":[{"index":0,"message":{"role":"assistant","content":"Reply drafted for <EMAIL_ADDRESS_1> and <PHONE_NUMBER_1>; refund to <CREDIT_CARD_1> confirmed, IBAN <IBAN_1> noted."},"finish_reason":"stop"}],"usage":{"prompt_tokens":120,"completion_tokens":16,"total_tokens":136}}"#

    /// µs per call for each stage, best of three runs of `rounds` calls.
    static func requestStages(body: [UInt8], rounds: Int) throws -> JSONValue {
        let scanner = Scanner()
        let operators = Operators(hashKey: Array("bench-fingerprint-key".utf8))
        let transformer = RequestTransformer(scanner: scanner, operators: operators)
        let request = try JSONValue(parsing: body)
        let located = transformer.scan(request: request)
        let answer = Array(benchAnswer.utf8)
        var vault = Vault()
        let transformed = transformer.transform(request: request, located: located, actions: { _ in .pseudonymize }, vault: &vault,
                                                fingerprints: false)
        let restorer = ResponseRestorer(vault: vault, scanner: scanner, operators: operators, actions: Action.forModelOutput)

        func perCall(_ body: () throws -> Void) rethrows -> Double {
            try best(of: 3) { for _ in 0..<rounds { try body() } } / Double(rounds) * 1e6
        }
        var sink = 0
        let parse = try perCall { if case .object(let o) = try JSONValue(parsing: body) { sink &+= o.members.count } }
        let scan = perCall { sink &+= transformer.scan(request: request).count }
        let transform = perCall {
            var v = Vault()
            sink &+= transformer.transform(request: request, located: located, actions: { _ in .pseudonymize }, vault: &v,
                                           fingerprints: false).summary.entries.count
        }
        let fingerprints = perCall { sink &+= RequestTransformer.fingerprints(of: located, in: request, operators: operators).count }
        let serialize = perCall { sink &+= transformed.request.serializedBytes.count }
        let restore = try perCall {
            let parsed = try JSONValue(parsing: answer)
            if let r = restorer.rewriteIfChanged(parsed) { sink &+= r.response.serializedBytes.count }
        }
        precondition(sink != 0)
        let f = ScanBenchCommand.fmt
        return .object([
            "request_bytes": .int(body.count), "findings": .int(located.count), "rounds": .int(rounds),
            "us_parse": .number(f(parse)), "us_scan": .number(f(scan)), "us_transform": .number(f(transform)),
            "us_fingerprints": .number(f(fingerprints)), "us_serialize": .number(f(serialize)),
            "us_restore_answer": .number(f(restore)),
            "us_before_sending": .number(f(parse + scan + transform + serialize)),
        ])
    }
}
