import FuzzDriver
import Glibc
import AirlockPolicy

/// Policy and provider-catalog YAML loaders (`airlock policy apply FILE`, `provider import`).
/// Property: any text either loads or is refused with validation problems; never a crash,
/// a hang or unbounded memory (Yams aliases are the classic "billion laughs" vector).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPolicy(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    do {
        let policy = try Policy(yaml: text, file: "fuzz.yaml")
        precondition(!policy.name.isEmpty, "an accepted policy has no name")
    } catch {
        precondition(!error.problems.isEmpty, "a refused policy names no problem")
    }
    _ = try? PolicyFile.parse(yaml: text, file: "fuzz.yaml")
    _ = try? ProviderCatalog(yaml: text, file: "fuzz.yaml")
    return 0
}


// SwiftPM's main runs, not libFuzzer's: hand over to the libFuzzer driver.
var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in
    guard let data else { return 0 }
    return fuzzPolicy(data, size)
})
