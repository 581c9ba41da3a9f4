/// A bounds-checked little-endian cursor over the mapping. Every read checks the remaining
/// length first, and every count is checked against the bytes that could hold it, so a
/// corrupt header fails fast with a message instead of reading past the end or allocating.
struct GGUFReader {
    static let typeString: UInt32 = 8
    static let typeArray: UInt32 = 9
    static let maxStringBytes = 1 << 24
    static let maxDepth = 3

    let file: MappedFile
    var offset: Int
    let limit: Int

    init(file: MappedFile, offset: Int = 0, limit: Int? = nil) {
        self.file = file
        self.offset = offset
        self.limit = limit ?? file.count
    }

    var remaining: Int { limit - offset }

    mutating func need(_ n: Int, _ what: @autoclosure () -> String) throws {
        guard n >= 0, n <= remaining else {
            throw EngineError.invalidFile("file truncated while reading \(what()) at byte \(offset)")
        }
    }

    mutating func read<T: FixedWidthInteger>(_: T.Type, _ what: @autoclosure () -> String) throws -> T {
        try need(MemoryLayout<T>.size, what())
        let v = file.base.loadUnaligned(fromByteOffset: offset, as: T.self)
        offset += MemoryLayout<T>.size
        return T(littleEndian: v)
    }

    /// Reads a u64 count and checks that `count * minItemBytes` bytes could follow.
    mutating func readCount(_ what: String, minItemBytes: Int) throws -> Int {
        let raw = try read(UInt64.self, what)
        guard raw <= UInt64(Int.max / max(minItemBytes, 1)), Int(raw) * minItemBytes <= remaining else {
            throw EngineError.invalidFile("\(what) \(raw) is larger than the file allows")
        }
        return Int(raw)
    }

    mutating func readString() throws -> String {
        let n = try read(UInt64.self, "string length")
        guard n <= UInt64(Self.maxStringBytes) else {
            throw EngineError.invalidFile("string length \(n) exceeds limit")
        }
        try need(Int(n), "string bytes")
        let bytes = UnsafeRawBufferPointer(start: file.base + offset, count: Int(n))
        offset += Int(n)
        // Invalid UTF-8 is repaired rather than rejected: token texts are compared as bytes.
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Raw bytes of a string without decoding (vocabulary loading).
    mutating func skipString() throws {
        let n = try read(UInt64.self, "string length")
        guard n <= UInt64(Self.maxStringBytes) else {
            throw EngineError.invalidFile("string length \(n) exceeds limit")
        }
        try need(Int(n), "string bytes")
        offset += Int(n)
    }

    static func scalarSize(_ type: UInt32) -> Int? {
        switch type {
        case 0, 1, 7: return 1
        case 2, 3: return 2
        case 4, 5, 6: return 4
        case 10, 11, 12: return 8
        default: return nil
        }
    }

    mutating func readValue(type: UInt32, depth: Int) throws -> GGUFValue {
        switch type {
        case 0: return .uint(UInt64(try read(UInt8.self, "u8")))
        case 1: return .int(Int64(try read(Int8.self, "i8")))
        case 2: return .uint(UInt64(try read(UInt16.self, "u16")))
        case 3: return .int(Int64(try read(Int16.self, "i16")))
        case 4: return .uint(UInt64(try read(UInt32.self, "u32")))
        case 5: return .int(Int64(try read(Int32.self, "i32")))
        case 6: return .float(Double(Float(bitPattern: try read(UInt32.self, "f32"))))
        case 7:
            let b = try read(UInt8.self, "bool")
            guard b <= 1 else { throw EngineError.invalidFile("bool value \(b) is not 0 or 1") }
            return .bool(b == 1)
        case 8: return .string(try readString())
        case 9:
            guard depth < Self.maxDepth else { throw EngineError.invalidFile("metadata arrays nested too deeply") }
            let elementType = try read(UInt32.self, "array element type")
            let minItem: Int
            if let s = Self.scalarSize(elementType) { minItem = s }
            else if elementType == Self.typeString { minItem = 8 }
            else if elementType == Self.typeArray { minItem = 12 }
            else { throw EngineError.invalidFile("unknown metadata array element type \(elementType)") }
            let count = try readCount("array length", minItemBytes: minItem)
            let start = offset
            if let s = Self.scalarSize(elementType) {
                offset += count * s
            } else if elementType == Self.typeString {
                for _ in 0..<count { try skipString() }
            } else {
                for _ in 0..<count { _ = try readValue(type: elementType, depth: depth + 1) }
            }
            return .array(GGUFArray(elementType: elementType, count: count, file: file, start: start, end: offset))
        case 10: return .uint(try read(UInt64.self, "u64"))
        case 11: return .int(try read(Int64.self, "i64"))
        case 12: return .float(Double(bitPattern: try read(UInt64.self, "f64")))
        default:
            throw EngineError.invalidFile("unknown metadata value type \(type)")
        }
    }
}
