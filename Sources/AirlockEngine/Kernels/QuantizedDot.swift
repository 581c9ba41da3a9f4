#if AIRLOCK_X86_AVX2
import _Builtin_intrinsics.intel
#endif
/// Fused dot products of one weight row with activation rows, without dequantising the row.
/// Quantized weights use the int8 activations of `QuantizedActivations`; float weights use
/// the float activations directly. Each function writes `count` results (one per
/// activation row, `count` ≤ 4) so a decoded weight block is reused for several tokens.
///
/// The portable versions below are plain loops over unsafe pointers; the AVX2 versions in
/// `QuantizedDot+AVX2.swift` replace the hot types when the target enables them.
enum QuantizedDot {
    /// Dispatches on the weight type. `rows` are activation row indices (1...4 of them).
    @inline(__always)
    static func rowDot(_ type: GGMLType, _ w: UnsafeRawPointer, _ n: Int,
                       _ acts: QuantizedActivations, _ x: UnsafePointer<Float>, _ xStride: Int,
                       _ firstRow: Int, _ count: Int, _ out: UnsafeMutablePointer<Float>) {
        switch type {
        #if AIRLOCK_X86_AVX2
        case .q4_1: q4_1AVX2(w, n, acts, firstRow, count, out)
        case .q8_0: q8_0AVX2(w, n, acts, firstRow, count, out)
        case .q4_0: q4_0AVX2(w, n, acts, firstRow, count, out)
        #else
        case .q4_1: for i in 0..<count { out[i] = q4_1(w, n, acts, firstRow + i) }
        case .q8_0: for i in 0..<count { out[i] = q8_0(w, n, acts, firstRow + i) }
        case .q4_0: for i in 0..<count { out[i] = q4_0(w, n, acts, firstRow + i) }
        #endif
        case .q4_K: for i in 0..<count { out[i] = q4_K(w, n, acts, firstRow + i) }
        case .q6_K: for i in 0..<count { out[i] = q6_K(w, n, acts, firstRow + i) }
        case .f32, .f16, .bf16:
            for i in 0..<count { out[i] = floatDot(type, w, x + (firstRow + i) * xStride, n) }
        }
    }

    static func q4_1(_ w: UnsafeRawPointer, _ n: Int, _ acts: QuantizedActivations, _ r: Int) -> Float {
        let a = acts.qsRow(r), ad = acts.dRow(r), asum = acts.sRow(r), ss = acts.scaleStride
        var acc: Float = 0
        for b in 0..<n / 32 {
            let blk = w + b * 20
            let d = HalfFloat.f16ToFloat(HalfFloat.load16(blk, 0))
            let m = HalfFloat.f16ToFloat(HalfFloat.load16(blk, 2))
            let q = (blk + 4).assumingMemoryBound(to: UInt8.self)
            let ab = a + b * 32
            var sumi: Int32 = 0
            for j in 0..<16 {
                sumi &+= Int32(q[j] & 0x0F) &* Int32(ab[j]) &+ Int32(q[j] >> 4) &* Int32(ab[j + 16])
            }
            acc += d * ad[b * ss] * Float(sumi) + m * asum[b * ss]
        }
        return acc
    }

    static func q4_0(_ w: UnsafeRawPointer, _ n: Int, _ acts: QuantizedActivations, _ r: Int) -> Float {
        let a = acts.qsRow(r), ad = acts.dRow(r), ss = acts.scaleStride
        var acc: Float = 0
        for b in 0..<n / 32 {
            let blk = w + b * 18
            let d = HalfFloat.f16ToFloat(HalfFloat.load16(blk, 0))
            let q = (blk + 2).assumingMemoryBound(to: UInt8.self)
            let ab = a + b * 32
            var sumi: Int32 = 0
            for j in 0..<16 {
                sumi &+= (Int32(q[j] & 0x0F) &- 8) &* Int32(ab[j]) &+ (Int32(q[j] >> 4) &- 8) &* Int32(ab[j + 16])
            }
            acc += d * ad[b * ss] * Float(sumi)
        }
        return acc
    }

    static func q8_0(_ w: UnsafeRawPointer, _ n: Int, _ acts: QuantizedActivations, _ r: Int) -> Float {
        let a = acts.qsRow(r), ad = acts.dRow(r), ss = acts.scaleStride
        var acc: Float = 0
        for b in 0..<n / 32 {
            let blk = w + b * 34
            let d = HalfFloat.f16ToFloat(HalfFloat.load16(blk, 0))
            let q = (blk + 2).assumingMemoryBound(to: Int8.self)
            let ab = a + b * 32
            var sumi: Int32 = 0
            for j in 0..<32 { sumi &+= Int32(q[j]) &* Int32(ab[j]) }
            acc += d * ad[b * ss] * Float(sumi)
        }
        return acc
    }

    /// Q4_K: eight 32-element sub-blocks per super-block, each aligned with one activation block.
    static func q4_K(_ w: UnsafeRawPointer, _ n: Int, _ acts: QuantizedActivations, _ r: Int) -> Float {
        let a = acts.qsRow(r), ad = acts.dRow(r), asum = acts.sRow(r), ss = acts.scaleStride
        var acc: Float = 0
        for b in 0..<n / 256 {
            let blk = w + b * 144
            let d = HalfFloat.f16ToFloat(HalfFloat.load16(blk, 0))
            let dmin = HalfFloat.f16ToFloat(HalfFloat.load16(blk, 2))
            let scales = (blk + 4).assumingMemoryBound(to: UInt8.self)
            let qs = (blk + 16).assumingMemoryBound(to: UInt8.self)
            for chunk in 0..<4 {
                let q = qs + chunk * 32
                let ab = b * 8 + chunk * 2
                let lo = a + ab * 32, hi = a + (ab + 1) * 32
                var s1: Int32 = 0, s2: Int32 = 0
                for l in 0..<32 {
                    s1 &+= Int32(q[l] & 0x0F) &* Int32(lo[l])
                    s2 &+= Int32(q[l] >> 4) &* Int32(hi[l])
                }
                let (sc1, m1) = Dequantize.q4KScaleMin(2 * chunk, scales)
                let (sc2, m2) = Dequantize.q4KScaleMin(2 * chunk + 1, scales)
                acc += d * (Float(sc1) * ad[ab * ss] * Float(s1) + Float(sc2) * ad[(ab + 1) * ss] * Float(s2))
                acc -= dmin * (Float(m1) * asum[ab * ss] + Float(m2) * asum[(ab + 1) * ss])
            }
        }
        return acc
    }

    /// Q6_K: 16-element sub-blocks with signed 8-bit scales, values q−32 in [−32, 31].
    static func q6_K(_ w: UnsafeRawPointer, _ n: Int, _ acts: QuantizedActivations, _ r: Int) -> Float {
        let a = acts.qsRow(r), ad = acts.dRow(r), ss = acts.scaleStride
        var acc: Float = 0
        for b in 0..<n / 256 {
            let blk = w + b * 210
            let ql0 = blk.assumingMemoryBound(to: UInt8.self)
            let qh0 = (blk + 128).assumingMemoryBound(to: UInt8.self)
            let sc0 = (blk + 192).assumingMemoryBound(to: Int8.self)
            let d = HalfFloat.f16ToFloat(HalfFloat.load16(blk, 208))
            for half in 0..<2 {
                let ql = ql0 + half * 64, qh = qh0 + half * 32, sc = sc0 + half * 8
                let base = b * 256 + half * 128
                // Element groups: l+0, l+32, l+64, l+96 for l in 0..<32, each split in two 16s.
                for group in 0..<4 {
                    for sub in 0..<2 {
                        var sumi: Int32 = 0
                        for l in (sub * 16)..<(sub * 16 + 16) {
                            let q: Int32
                            switch group {
                            case 0: q = Int32(ql[l] & 0xF) | (Int32(qh[l] & 3) << 4)
                            case 1: q = Int32(ql[l + 32] & 0xF) | (Int32((qh[l] >> 2) & 3) << 4)
                            case 2: q = Int32(ql[l] >> 4) | (Int32((qh[l] >> 4) & 3) << 4)
                            default: q = Int32(ql[l + 32] >> 4) | (Int32((qh[l] >> 6) & 3) << 4)
                            }
                            sumi &+= (q &- 32) &* Int32(a[base + group * 32 + l])
                        }
                        let blockIndex = (base + group * 32) / 32
                        acc += d * Float(sc[sub + group * 2]) * ad[blockIndex * ss] * Float(sumi)
                    }
                }
            }
        }
        return acc
    }

    static func floatDot(_ type: GGMLType, _ w: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc = SIMD8<Float>()
        var i = 0
        switch type {
        case .f32:
            let wf = w.assumingMemoryBound(to: Float.self)
            while i + 8 <= n {
                let a = UnsafeRawPointer(wf + i).loadUnaligned(as: SIMD8<Float>.self)
                let b = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self)
                acc.addProduct(a, b)
                i += 8
            }
            var tail: Float = 0
            while i < n { tail += wf[i] * x[i]; i += 1 }
            return acc.sum() + tail
        case .f16:
            // ggml converts the activations to fp16 for fp16 weights; round them the same way.
            #if AIRLOCK_X86_AVX2
            var acc8 = _mm256_setzero_ps()
            let wh = w.assumingMemoryBound(to: UInt16.self)
            while i + 8 <= n {
                let wv = _mm256_cvtph_ps(_mm_loadu_si128(UnsafeRawPointer(wh + i).assumingMemoryBound(to: __m128i.self)))
                let xr = SIMD8<Float>(HalfFloat.roundToF16(x[i]), HalfFloat.roundToF16(x[i + 1]),
                                      HalfFloat.roundToF16(x[i + 2]), HalfFloat.roundToF16(x[i + 3]),
                                      HalfFloat.roundToF16(x[i + 4]), HalfFloat.roundToF16(x[i + 5]),
                                      HalfFloat.roundToF16(x[i + 6]), HalfFloat.roundToF16(x[i + 7]))
                let xv: __m256 = xr
                acc8 = _mm256_fmadd_ps(wv, xv, acc8)
                i += 8
            }
            var s = hsum(acc8)
            #else
            var s: Float = 0
            #endif
            while i < n {
                s += HalfFloat.f16ToFloat(HalfFloat.load16(w, 2 * i)) * HalfFloat.roundToF16(x[i])
                i += 1
            }
            return s
        case .bf16:
            var s: Float = 0
            for j in 0..<n { s += HalfFloat.bf16ToFloat(HalfFloat.load16(w, 2 * j)) * x[j] }
            return s
        default:
            return 0
        }
    }
}
