/// Tensor element types as numbered by ggml. Only the types the engine can compute with are
/// accepted by the reader; others are recognised by number so the error can name them.
public enum GGMLType: UInt32, Sendable, CaseIterable {
    case f32 = 0
    case f16 = 1
    case q4_0 = 2
    case q4_1 = 3
    case q8_0 = 8
    case q4_K = 12
    case q6_K = 14
    case bf16 = 30

    /// Elements per block.
    public var blockSize: Int {
        switch self {
        case .f32, .f16, .bf16: return 1
        case .q4_0, .q4_1, .q8_0: return 32
        case .q4_K, .q6_K: return 256
        }
    }

    /// Bytes per block.
    public var blockBytes: Int {
        switch self {
        case .f32: return 4
        case .f16, .bf16: return 2
        case .q4_0: return 18
        case .q4_1: return 20
        case .q8_0: return 34
        case .q4_K: return 144
        case .q6_K: return 210
        }
    }

    public var name: String {
        switch self {
        case .f32: return "F32"
        case .f16: return "F16"
        case .bf16: return "BF16"
        case .q4_0: return "Q4_0"
        case .q4_1: return "Q4_1"
        case .q8_0: return "Q8_0"
        case .q4_K: return "Q4_K"
        case .q6_K: return "Q6_K"
        }
    }

    /// Names of ggml types this engine knows of but cannot compute with.
    static func knownUnsupportedName(_ raw: UInt32) -> String? {
        switch raw {
        case 6: return "Q5_0"
        case 7: return "Q5_1"
        case 9: return "Q8_1"
        case 10: return "Q2_K"
        case 11: return "Q3_K"
        case 13: return "Q5_K"
        case 15: return "Q8_K"
        case 16...29: return "IQ/other (\(raw))"
        case 31...41: return "type \(raw)"
        default: return nil
        }
    }

    /// Bytes for a row of `elements` elements, or nil when not a whole number of blocks.
    public func rowBytes(_ elements: Int) -> Int? {
        guard elements % blockSize == 0 else { return nil }
        return elements / blockSize * blockBytes
    }
}
