/// One metadata value. Scalars are decoded eagerly; arrays stay as a validated window into
/// the mapping and are decoded on demand, so a hostile array never becomes a huge allocation
/// of enum cases.
public enum GGUFValue: Sendable {
    case uint(UInt64)
    case int(Int64)
    case float(Double)
    case bool(Bool)
    case string(String)
    case array(GGUFArray)

    public var asInt: Int? {
        switch self {
        case .uint(let v): return v <= UInt64(Int.max) ? Int(v) : nil
        case .int(let v): return Int(v)
        default: return nil
        }
    }

    public var asDouble: Double? {
        switch self {
        case .float(let v): return v
        case .uint(let v): return Double(v)
        case .int(let v): return Double(v)
        default: return nil
        }
    }

    public var asString: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    public var asBool: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    public var asArray: GGUFArray? {
        if case .array(let a) = self { return a }
        return nil
    }
}

/// A metadata array: element type, count and the byte window holding its items.
public struct GGUFArray: Sendable {
    public let elementType: UInt32
    public let count: Int
    let file: MappedFile
    let start: Int
    let end: Int

    /// Decodes a string array (e.g. the vocabulary).
    public func strings() throws -> [String] {
        guard elementType == GGUFReader.typeString else {
            throw EngineError.invalidFile("metadata array is not an array of strings")
        }
        var r = GGUFReader(file: file, offset: start, limit: end)
        var out: [String] = []
        out.reserveCapacity(count)
        for _ in 0..<count { out.append(try r.readString()) }
        return out
    }

    /// Decodes an integer array of any integer element type.
    public func integers() throws -> [Int] {
        var r = GGUFReader(file: file, offset: start, limit: end)
        var out: [Int] = []
        out.reserveCapacity(count)
        for _ in 0..<count {
            guard let v = try r.readValue(type: elementType, depth: 1).asInt else {
                throw EngineError.invalidFile("metadata array is not an array of integers")
            }
            out.append(v)
        }
        return out
    }

    /// Decodes a numeric array as Float.
    public func floats() throws -> [Float] {
        var r = GGUFReader(file: file, offset: start, limit: end)
        var out: [Float] = []
        out.reserveCapacity(count)
        for _ in 0..<count {
            guard let v = try r.readValue(type: elementType, depth: 1).asDouble else {
                throw EngineError.invalidFile("metadata array is not numeric")
            }
            out.append(Float(v))
        }
        return out
    }
}
