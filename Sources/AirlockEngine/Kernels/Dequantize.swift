/// Reference dequantisation of one row to Float, for every supported type. Used for
/// embedding lookups, by tests as the ground truth for the fused kernels, and for weight
/// types that have no fused kernel.
public enum Dequantize {
    /// Writes `n` floats (n a multiple of the type's block size) decoded from `src`.
    public static func row(_ type: GGMLType, _ src: UnsafeRawPointer, _ n: Int, into y: UnsafeMutablePointer<Float>) {
        switch type {
        case .f32:
            y.update(from: src.assumingMemoryBound(to: Float.self), count: n)
        case .f16:
            for i in 0..<n { y[i] = HalfFloat.f16ToFloat(HalfFloat.load16(src, 2 * i)) }
        case .bf16:
            for i in 0..<n { y[i] = HalfFloat.bf16ToFloat(HalfFloat.load16(src, 2 * i)) }
        case .q8_0:
            for b in 0..<n / 32 {
                let blk = src + b * 34
                let d = HalfFloat.f16ToFloat(HalfFloat.load16(blk, 0))
                let q = (blk + 2).assumingMemoryBound(to: Int8.self)
                for j in 0..<32 { y[b * 32 + j] = Float(q[j]) * d }
            }
        case .q4_0:
            for b in 0..<n / 32 {
                let blk = src + b * 18
                let d = HalfFloat.f16ToFloat(HalfFloat.load16(blk, 0))
                let q = (blk + 2).assumingMemoryBound(to: UInt8.self)
                for j in 0..<16 {
                    y[b * 32 + j] = Float(Int(q[j] & 0x0F) - 8) * d
                    y[b * 32 + j + 16] = Float(Int(q[j] >> 4) - 8) * d
                }
            }
        case .q4_1:
            for b in 0..<n / 32 {
                let blk = src + b * 20
                let d = HalfFloat.f16ToFloat(HalfFloat.load16(blk, 0))
                let m = HalfFloat.f16ToFloat(HalfFloat.load16(blk, 2))
                let q = (blk + 4).assumingMemoryBound(to: UInt8.self)
                for j in 0..<16 {
                    y[b * 32 + j] = Float(q[j] & 0x0F) * d + m
                    y[b * 32 + j + 16] = Float(q[j] >> 4) * d + m
                }
            }
        case .q4_K:
            for b in 0..<n / 256 {
                let blk = src + b * 144
                let d = HalfFloat.f16ToFloat(HalfFloat.load16(blk, 0))
                let dmin = HalfFloat.f16ToFloat(HalfFloat.load16(blk, 2))
                let scales = (blk + 4).assumingMemoryBound(to: UInt8.self)
                let qs = (blk + 16).assumingMemoryBound(to: UInt8.self)
                let out = y + b * 256
                for chunk in 0..<4 {
                    let (sc1, m1) = q4KScaleMin(2 * chunk, scales)
                    let (sc2, m2) = q4KScaleMin(2 * chunk + 1, scales)
                    let q = qs + chunk * 32
                    for l in 0..<32 {
                        out[chunk * 64 + l] = d * Float(sc1) * Float(q[l] & 0x0F) - dmin * Float(m1)
                        out[chunk * 64 + 32 + l] = d * Float(sc2) * Float(q[l] >> 4) - dmin * Float(m2)
                    }
                }
            }
        case .q6_K:
            for b in 0..<n / 256 {
                let blk = src + b * 210
                let ql0 = blk.assumingMemoryBound(to: UInt8.self)
                let qh0 = (blk + 128).assumingMemoryBound(to: UInt8.self)
                let sc0 = (blk + 192).assumingMemoryBound(to: Int8.self)
                let d = HalfFloat.f16ToFloat(HalfFloat.load16(blk, 208))
                for half in 0..<2 {
                    let ql = ql0 + half * 64, qh = qh0 + half * 32, sc = sc0 + half * 8
                    let out = y + b * 256 + half * 128
                    for l in 0..<32 {
                        let isc = l / 16
                        let q1 = Int(ql[l] & 0xF) | (Int(qh[l] & 3) << 4)
                        let q2 = Int(ql[l + 32] & 0xF) | (Int((qh[l] >> 2) & 3) << 4)
                        let q3 = Int(ql[l] >> 4) | (Int((qh[l] >> 4) & 3) << 4)
                        let q4 = Int(ql[l + 32] >> 4) | (Int((qh[l] >> 6) & 3) << 4)
                        out[l] = d * Float(sc[isc]) * Float(q1 - 32)
                        out[l + 32] = d * Float(sc[isc + 2]) * Float(q2 - 32)
                        out[l + 64] = d * Float(sc[isc + 4]) * Float(q3 - 32)
                        out[l + 96] = d * Float(sc[isc + 6]) * Float(q4 - 32)
                    }
                }
            }
        }
    }

    /// 6-bit scale and min of sub-block `j` (0..<8) from Q4_K's 12 packed bytes.
    @inline(__always)
    static func q4KScaleMin(_ j: Int, _ q: UnsafePointer<UInt8>) -> (UInt8, UInt8) {
        if j < 4 {
            return (q[j] & 63, q[j + 4] & 63)
        }
        return ((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4), (q[j + 4] >> 4) | ((q[j] >> 6) << 4))
    }
}
