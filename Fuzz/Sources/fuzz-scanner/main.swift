import FuzzDriver
import Glibc
import AirlockCore
import AirlockDetect

/// The scanner, the request transformer and the streaming restorer (every prompt and every
/// answer goes through them). Properties, on any text:
/// - findings are in bounds, non-empty, sorted and non-overlapping;
/// - pseudonymizing every finding and restoring the result gives back the exact text (a
///   user's literal `<EMAIL_ADDRESS_1>` is never turned into someone's value);
/// - restoring a stream split at arbitrary points equals restoring it whole.
enum Shared {
    static let scanner = Scanner()
    static let transformer = RequestTransformer(scanner: scanner, operators: Operators(hashKey: Array(repeating: 7, count: 32)))
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzScanner(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let step = Int(data[0] % 8) + 1
    let text = String(decoding: UnsafeBufferPointer(start: data + 1, count: size - 1), as: UTF8.self)
    let utf8 = Array(text.utf8)

    let findings = Shared.scanner.scan(text)
    var last = 0
    for f in findings {
        precondition(f.start >= last && f.start < f.end && f.end <= utf8.count, "finding out of bounds or overlapping")
        last = f.end
    }
    // Raw bytes, invalid UTF-8 included, must be tolerated too.
    _ = Shared.scanner.scan(utf8: UnsafeBufferPointer(start: data, count: size))

    let request = JSONValue.object(JSONObject([("model", .string("m")),
                                               ("messages", .array([.object(JSONObject([("role", .string("user")), ("content", .string(text))]))]))]))
    var vault = Vault()
    let result = Shared.transformer.transform(request: request, actions: { _ in .pseudonymize }, vault: &vault)
    guard case .object(let root)? = Optional(result.request),
          case .array(let messages)? = root["messages"], case .object(let message)? = messages.first,
          case .string(let sent)? = message["content"] else { fatalError("transformed request lost its shape") }
    precondition(vault.restore(sent) == text, "restore(pseudonymize(text)) != text")

    var restorer = StreamRestorer(vault: vault)
    var streamed = ""
    let chars = Array(sent.unicodeScalars)
    var i = 0
    while i < chars.count {
        let n = min(step, chars.count - i)
        var piece = ""
        piece.unicodeScalars.append(contentsOf: chars[i..<(i + n)])
        i += n
        streamed += restorer.feed(piece)
    }
    streamed += restorer.finish()
    precondition(streamed == text, "streamed restore differs from whole restore")
    return 0
}


// SwiftPM's main runs, not libFuzzer's: hand over to the libFuzzer driver.
var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in
    guard let data else { return 0 }
    return fuzzScanner(data, size)
})
