import Foundation
@testable import AirlockEngine

/// Writes small GGUF v3 files in memory, with knobs for producing hostile variants.
struct GGUFBuilder {
    enum Value {
        case u32(UInt32), i32(Int32), u64(UInt64), f32(Float), bool(Bool), string(String)
        case strings([String]), i32s([Int32]), f32s([Float])
    }

    struct Tensor {
        var name: String
        var dims: [UInt64]
        var type: UInt32
        var data: [UInt8]
        var offsetOverride: UInt64? = nil
    }

    var metadata: [(String, Value)] = []
    var tensors: [Tensor] = []
    var alignment = 32
    var version: UInt32 = 3
    var tensorCountOverride: UInt64? = nil
    var kvCountOverride: UInt64? = nil

    mutating func add(_ key: String, _ v: Value) { metadata.append((key, v)) }

    mutating func addTensor(_ name: String, dims: [Int], type: GGMLType, data: [UInt8]) {
        tensors.append(Tensor(name: name, dims: dims.map(UInt64.init), type: type.rawValue, data: data))
    }

    func build() -> [UInt8] {
        var out: [UInt8] = []
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
        func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
        func str(_ s: String) { u64(UInt64(s.utf8.count)); out += Array(s.utf8) }
        out += Array("GGUF".utf8)
        u32(version)
        u64(tensorCountOverride ?? UInt64(tensors.count))
        u64(kvCountOverride ?? UInt64(metadata.count))
        for (k, v) in metadata {
            str(k)
            switch v {
            case .u32(let x): u32(4); u32(x)
            case .i32(let x): u32(5); u32(UInt32(bitPattern: x))
            case .u64(let x): u32(10); u64(x)
            case .f32(let x): u32(6); u32(x.bitPattern)
            case .bool(let b): u32(7); out.append(b ? 1 : 0)
            case .string(let s): u32(8); str(s)
            case .strings(let a): u32(9); u32(8); u64(UInt64(a.count)); a.forEach(str)
            case .i32s(let a): u32(9); u32(5); u64(UInt64(a.count)); a.forEach { u32(UInt32(bitPattern: $0)) }
            case .f32s(let a): u32(9); u32(6); u64(UInt64(a.count)); a.forEach { u32($0.bitPattern) }
            }
        }
        var offset: UInt64 = 0
        var offsets: [UInt64] = []
        for t in tensors {
            offsets.append(t.offsetOverride ?? offset)
            offset += UInt64((t.data.count + alignment - 1) / alignment * alignment)
        }
        for (t, off) in zip(tensors, offsets) {
            str(t.name)
            u32(UInt32(t.dims.count))
            t.dims.forEach(u64)
            u32(t.type)
            u64(off)
        }
        while out.count % alignment != 0 { out.append(0) }
        for t in tensors {
            out += t.data
            while out.count % alignment != 0 { out.append(0) }
        }
        return out
    }

    /// A valid file with a few metadata kinds and three small tensors.
    static func sample() -> GGUFBuilder {
        var b = GGUFBuilder()
        b.add("general.architecture", .string("llama"))
        b.add("general.name", .string("tiny"))
        b.add("llama.block_count", .u32(1))
        b.add("tokenizer.ggml.tokens", .strings(["a", "b", "<s>"]))
        b.add("tokenizer.ggml.scores", .f32s([0, -1, -2]))
        b.add("flag", .bool(true))
        b.addTensor("f32", dims: [4, 2], type: .f32, data: (0..<8).flatMap { withUnsafeBytes(of: Float($0)) { Array($0) } })
        b.addTensor("q8", dims: [32], type: .q8_0, data: [0x00, 0x3C] + (0..<32).map { UInt8($0) })
        b.addTensor("f16", dims: [8], type: .f16, data: (0..<8).flatMap { withUnsafeBytes(of: Float16(Float($0)).bitPattern) { Array($0) } })
        return b
    }
}

/// Finds the real model and the llama.cpp fixtures.
enum ModelFixture {
    static let repoRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static let modelPath: String = {
        if let p = ProcessInfo.processInfo.environment["AIRLOCK_ENGINE_MODEL"], !p.isEmpty { return p }
        return repoRoot.appendingPathComponent("models/SmolLM2-135M-Instruct.Q4_1.gguf").path
    }()

    static let available: Bool = {
        let ok = FileManager.default.fileExists(atPath: modelPath)
        if !ok {
            print("⚠️  AirlockEngine model tests skipped: \(modelPath) not found (run scripts/engine/fetch-model.sh)")
        }
        return ok
    }()

    static func json(_ name: String) throws -> [String: Any] {
        guard let url = Bundle.module.url(forResource: name, withExtension: "json", subdirectory: "Fixtures") else {
            throw EngineError(.invalidRequest, "fixture \(name) missing")
        }
        return try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
    }
}
