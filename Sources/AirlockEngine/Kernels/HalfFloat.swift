/// Scalar conversions for the 16-bit float formats stored in GGUF.
/// With F16C enabled (AVX2 builds) `Float(Float16)` compiles to vcvtph2ps.
enum HalfFloat {
    @inline(__always)
    static func f16ToFloat(_ bits: UInt16) -> Float {
        #if arch(x86_64) && !AIRLOCK_X86_AVX2
        // Without F16C the conversion is a library call; this bit-level version inlines and
        // vectorises. Shifting the half's exponent and mantissa into a float and scaling by
        // 2^112 re-biases normals and subnormals alike; infinities and NaNs are patched.
        let h = UInt32(bits)
        let magnitude = Float(bitPattern: (h & 0x7FFF) << 13) * 0x1p112
        let special = (h & 0x7C00) == 0x7C00 ? ((h & 0x3FF) << 13) | 0x7F80_0000 : magnitude.bitPattern
        return Float(bitPattern: special | (h & 0x8000) << 16)
        #else
        Float(Float16(bitPattern: bits))
        #endif
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
