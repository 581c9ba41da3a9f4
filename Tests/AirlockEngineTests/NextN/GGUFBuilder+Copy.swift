import Foundation
@testable import AirlockEngine

extension GGUFBuilder {
    /// A copy of a parsed file's metadata and tensors, to derive variants from (drop or
    /// reshape a tensor, change a key). Scalars keep their width class; arrays become
    /// string, i32 or f32 arrays.
    static func copy(of g: GGUFFile) throws -> GGUFBuilder {
        var b = GGUFBuilder()
        b.alignment = g.alignment
        for key in g.metadataKeys {
            guard let v = g.metadata[key] else { continue }
            switch v {
            case .uint(let x): b.add(key, x <= UInt64(UInt32.max) ? .u32(UInt32(x)) : .u64(x))
            case .int(let x): b.add(key, .i32(Int32(x)))
            case .float(let x): b.add(key, .f32(Float(x)))
            case .bool(let x): b.add(key, .bool(x))
            case .string(let s): b.add(key, .string(s))
            case .array(let a):
                if a.elementType == GGUFReader.typeString {
                    b.add(key, .strings(try a.strings()))
                } else if let ints = try? a.integers() {
                    b.add(key, .i32s(ints.map { Int32($0) }))
                } else {
                    b.add(key, .f32s(try a.floats()))
                }
            }
        }
        for name in g.tensorNames {
            let t = g.tensors[name]!
            b.addTensor(name, dims: t.dims, type: t.type,
                        data: Array(UnsafeRawBufferPointer(start: t.data, count: t.byteCount)))
        }
        return b
    }

    mutating func set(_ key: String, _ v: Value) {
        if let i = metadata.firstIndex(where: { $0.0 == key }) { metadata[i].1 = v } else { add(key, v) }
    }

    mutating func remove(key: String) { metadata.removeAll { $0.0 == key } }

    mutating func removeTensors(where drop: (String) -> Bool) { tensors.removeAll { drop($0.name) } }

    /// Writes the file to a fresh temporary path.
    func write(_ name: String) throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("airlock-nextn-\(UUID().uuidString)-\(name).gguf")
        try Data(build()).write(to: url)
        return url.path
    }
}
