/// A parsed GGUF v3 file over a memory map: metadata, tensor table and the data section.
///
/// Validation is complete before anything is handed out: known tensor types only, at most
/// four non-zero dimensions without overflow, rows made of whole blocks, aligned offsets,
/// every tensor inside the file and no two tensors overlapping. Any failure is an
/// `EngineError` with code `.invalidModelFile` naming the problem.
public final class GGUFFile: Sendable {
    public static let magic: UInt32 = 0x4655_4747  // "GGUF" little-endian
    public static let maxTensors = 1 << 20
    public static let maxMetadata = 1 << 20

    public let file: MappedFile
    public let version: UInt32
    public let metadata: [String: GGUFValue]
    /// Metadata keys in file order.
    public let metadataKeys: [String]
    public let tensors: [String: GGUFTensor]
    /// Tensor names in file order.
    public let tensorNames: [String]
    public let alignment: Int
    public let dataOffset: Int

    public convenience init(path: String) throws {
        try self.init(file: MappedFile(path: path))
    }

    public init(file: MappedFile) throws {
        self.file = file
        var r = GGUFReader(file: file)
        let magic = try r.read(UInt32.self, "magic")
        guard magic == Self.magic else { throw EngineError.invalidFile("not a GGUF file (bad magic)") }
        version = try r.read(UInt32.self, "version")
        guard version == 3 else { throw EngineError.invalidFile("unsupported GGUF version \(version) (need 3)") }
        // A tensor info is at least 8+4+8+4+8 bytes, a metadata pair at least 8+4+1.
        let tensorCount = try r.readCount("tensor count", minItemBytes: 32)
        let kvCount = try r.readCount("metadata count", minItemBytes: 13)
        guard tensorCount <= Self.maxTensors else { throw EngineError.invalidFile("tensor count \(tensorCount) exceeds limit") }
        guard kvCount <= Self.maxMetadata else { throw EngineError.invalidFile("metadata count \(kvCount) exceeds limit") }

        var metadata: [String: GGUFValue] = [:]
        var keys: [String] = []
        keys.reserveCapacity(kvCount)
        for _ in 0..<kvCount {
            let key = try r.readString()
            let type = try r.read(UInt32.self, "metadata value type")
            let value = try r.readValue(type: type, depth: 0)
            guard metadata[key] == nil else { throw EngineError.invalidFile("duplicate metadata key '\(key)'") }
            metadata[key] = value
            keys.append(key)
        }

        var alignment = 32
        if let a = metadata["general.alignment"] {
            guard let v = a.asInt, v > 0, v <= 1 << 16, v & (v - 1) == 0 else {
                throw EngineError.invalidFile("general.alignment must be a power of two up to 65536")
            }
            alignment = v
        }

        struct Raw { let name: String; let dims: [Int]; let type: GGMLType; let offset: Int; let bytes: Int }
        var raws: [Raw] = []
        raws.reserveCapacity(tensorCount)
        var seen = Set<String>()
        for index in 0..<tensorCount {
            let name = try r.readString()
            guard seen.insert(name).inserted else { throw EngineError.invalidFile("duplicate tensor name '\(name)'") }
            let nDims = try r.read(UInt32.self, "tensor dimension count")
            guard nDims >= 1, nDims <= 4 else {
                throw EngineError.invalidFile("tensor '\(name)' has \(nDims) dimensions (1-4 allowed)")
            }
            var dims: [Int] = []
            var elements = 1
            for _ in 0..<nDims {
                let d = try r.read(UInt64.self, "tensor dimension")
                guard d >= 1, d <= UInt64(Int32.max) else {
                    throw EngineError.invalidFile("tensor '\(name)' has invalid dimension \(d)")
                }
                let (p, overflow) = elements.multipliedReportingOverflow(by: Int(d))
                guard !overflow, p <= 1 << 40 else { throw EngineError.invalidFile("tensor '\(name)' is too large") }
                elements = p
                dims.append(Int(d))
            }
            let rawType = try r.read(UInt32.self, "tensor type")
            guard let type = GGMLType(rawValue: rawType) else {
                if let known = GGMLType.knownUnsupportedName(rawType) {
                    throw EngineError.unsupported("tensor '\(name)' has unsupported type \(known)")
                }
                throw EngineError.invalidFile("tensor '\(name)' has unknown type \(rawType)")
            }
            guard let rowBytes = type.rowBytes(dims[0]) else {
                throw EngineError.invalidFile("tensor '\(name)' row of \(dims[0]) is not a multiple of the \(type.name) block size")
            }
            let offset = try r.read(UInt64.self, "tensor offset")
            guard offset <= UInt64(Int.max / 2), Int(offset) % alignment == 0 else {
                throw EngineError.invalidFile("tensor '\(name)' offset \(offset) is not aligned to \(alignment)")
            }
            raws.append(Raw(name: name, dims: dims, type: type, offset: Int(offset),
                            bytes: rowBytes * (elements / dims[0])))
            _ = index
        }

        let dataOffset = (r.offset + alignment - 1) / alignment * alignment
        guard dataOffset <= file.count else { throw EngineError.invalidFile("file truncated before the tensor data section") }
        let dataBytes = file.count - dataOffset
        for t in raws where t.offset > dataBytes || t.bytes > dataBytes - t.offset {
            throw EngineError.invalidFile("tensor '\(t.name)' extends past the end of the file (truncated?)")
        }
        let sorted = raws.sorted { $0.offset < $1.offset }
        if sorted.count > 1 {
            for i in 1..<sorted.count where sorted[i - 1].offset + sorted[i - 1].bytes > sorted[i].offset {
                throw EngineError.invalidFile("tensors '\(sorted[i - 1].name)' and '\(sorted[i].name)' overlap")
            }
        }

        var tensors: [String: GGUFTensor] = [:]
        for t in raws {
            tensors[t.name] = GGUFTensor(name: t.name, type: t.type, dims: t.dims,
                                         data: file.base + dataOffset + t.offset, byteCount: t.bytes)
        }
        self.metadata = metadata
        self.metadataKeys = keys
        self.tensors = tensors
        self.tensorNames = raws.map(\.name)
        self.alignment = alignment
        self.dataOffset = dataOffset
    }

    // MARK: typed metadata access

    public func string(_ key: String) -> String? { metadata[key]?.asString }
    public func int(_ key: String) -> Int? { metadata[key]?.asInt }
    public func double(_ key: String) -> Double? { metadata[key]?.asDouble }
    public func bool(_ key: String) -> Bool? { metadata[key]?.asBool }
    public func array(_ key: String) -> GGUFArray? { metadata[key]?.asArray }

    func requireInt(_ key: String) throws -> Int {
        guard let v = int(key) else { throw EngineError.invalidFile("missing or non-integer metadata '\(key)'") }
        return v
    }

    func requireTensor(_ name: String) throws -> GGUFTensor {
        guard let t = tensors[name] else { throw EngineError.invalidFile("missing tensor '\(name)'") }
        return t
    }
}

/// A tensor's shape, type and location in the mapping. `dims[0]` is the row length.
public struct GGUFTensor: @unchecked Sendable {
    // The pointer is into an immutable read-only mapping owned by GGUFFile.
    public let name: String
    public let type: GGMLType
    public let dims: [Int]
    public let data: UnsafeRawPointer
    public let byteCount: Int

    public var rowLength: Int { dims[0] }
    public var rowCount: Int { dims.dropFirst().reduce(1, *) }
    public var rowBytes: Int { byteCount / max(rowCount, 1) }
    public var elementCount: Int { dims.reduce(1, *) }
}
