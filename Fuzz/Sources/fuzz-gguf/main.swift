import FuzzDriver
import Glibc
import AirlockGGUF

/// GGUF reader (the local engine's model file). Properties: any bytes either parse or throw
/// `EngineError` (no trap, no huge allocation); every tensor the reader hands out lies inside
/// the mapping; metadata arrays decode or throw.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzGGUF(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let mapped = try? MappedFile(bytes: bytes), let file = try? GGUFFile(file: mapped) else { return 0 }
    let lower = mapped.base + file.dataOffset
    let upper = mapped.base + mapped.count
    for name in file.tensorNames {
        guard let t = file.tensors[name] else { fatalError("tensor name without tensor") }
        precondition(t.data >= lower && t.data + t.byteCount <= upper, "tensor outside the file")
        precondition(t.byteCount >= 0 && t.rowCount >= 1, "tensor with negative size")
    }
    for key in file.metadataKeys {
        guard let array = file.array(key) else { continue }
        _ = try? array.strings()
        _ = try? array.integers()
        _ = try? array.floats()
    }
    return 0
}


// SwiftPM's main runs, not libFuzzer's: hand over to the libFuzzer driver.
var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in
    guard let data else { return 0 }
    return fuzzGGUF(data, size)
})
