import FuzzDriver
import Glibc
import AirlockCore

/// JSON request parser (what every `POST /v1/*` body goes through). Properties: never
/// crashes or exhausts the stack; anything it accepts serializes to text it parses back to
/// the same value (what the gateway forwards is what it understood).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSON(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    guard let value = try? JSONValue(parsing: bytes) else { return 0 }
    let text = value.serializedBytes
    guard let again = try? JSONValue(parsing: text) else {
        fatalError("serialized form of an accepted document does not parse")
    }
    precondition(again == value, "JSON round trip changed the value")
    precondition(again.serializedBytes == text, "JSON serialization is not stable")
    return 0
}


// SwiftPM's main runs, not libFuzzer's: hand over to the libFuzzer driver.
var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in
    guard let data else { return 0 }
    return fuzzJSON(data, size)
})
