/// Scalar conversions for the 16-bit float formats stored in GGUF.
/// With F16C enabled (AVX2 builds) `Float(Float16)` compiles to vcvtph2ps.
enum HalfFloat {
    @inline(__always)
    static func f16ToFloat(_ bits: UInt16) -> Float {
        Float(Float16(bitPattern: bits))
    }

    @inline(__always)
    static func floatToF16(_ v: Float) -> UInt16 {
        Float16(v).bitPattern
    }

    /// Rounds through half precision (to mimic scales stored as fp16).
    @inline(__always)
    static func roundToF16(_ v: Float) -> Float {
        Float(Float16(v))
    }

    @inline(__always)
    static func bf16ToFloat(_ bits: UInt16) -> Float {
        Float(bitPattern: UInt32(bits) << 16)
    }

    @inline(__always)
    static func load16(_ p: UnsafeRawPointer, _ byteOffset: Int) -> UInt16 {
        UInt16(littleEndian: p.loadUnaligned(fromByteOffset: byteOffset, as: UInt16.self))
    }
}
