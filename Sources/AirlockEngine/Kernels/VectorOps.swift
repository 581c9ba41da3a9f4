#if AIRLOCK_X86_AVX2
import _Builtin_intrinsics.intel
#endif
import CAirlockPrefetch
import Foundation

/// Element-wise and attention helpers on float rows. All work in place on caller-owned
/// buffers; none allocates.
enum VectorOps {
    /// y = x / sqrt(mean(x²) + eps) · w   (sum of squares in Double, as the reference does)
    static func rmsNorm(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ n: Int, _ eps: Float,
                        _ y: UnsafeMutablePointer<Float>) {
        var sum: Double = 0
        for i in 0..<n { sum += Double(x[i] * x[i]) }
        let scale = 1 / (Float(sum / Double(n)) + eps).squareRoot()
        for i in 0..<n { y[i] = x[i] * scale * w[i] }
    }

    /// gate ← silu(gate) · up
    static func swiGLU(_ gate: UnsafeMutablePointer<Float>, _ up: UnsafePointer<Float>, _ n: Int) {
        for i in 0..<n {
            let g = gate[i]
            gate[i] = g / (1 + expf(-g)) * up[i]
        }
    }

    static func add(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ n: Int) {
        for i in 0..<n { y[i] += x[i] }
    }

    /// Rotates adjacent pairs (x[2i], x[2i+1]) of every head by pos·base^(−2i/dims).
    static func rope(_ x: UnsafeMutablePointer<Float>, heads: Int, headDim: Int, ropeDims: Int,
                     cosSin: UnsafePointer<Float>) {
        for h in 0..<heads {
            let v = x + h * headDim
            for i in 0..<ropeDims / 2 {
                let c = cosSin[2 * i], s = cosSin[2 * i + 1]
                let x0 = v[2 * i], x1 = v[2 * i + 1]
                v[2 * i] = x0 * c - x1 * s
                v[2 * i + 1] = x0 * s + x1 * c
            }
        }
    }

    /// cos/sin table for one position, computed the way the reference does (iterated theta).
    static func ropeTable(position: Int, ropeDims: Int, base: Float, into t: UnsafeMutablePointer<Float>) {
        let thetaScale = powf(base, -2 / Float(ropeDims))
        var theta = Float(position)
        for i in 0..<ropeDims / 2 {
            t[2 * i] = cosf(theta)
            t[2 * i + 1] = sinf(theta)
            theta *= thetaScale
        }
    }

    static func floatToHalf(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<UInt16>, _ n: Int) {
        for i in 0..<n { y[i] = HalfFloat.floatToF16(x[i]) }
    }

    /// q (already rounded to fp16 values) · k (fp16), length n (multiple of 8).
    @inline(__always)
    static func dotHalf(_ q: UnsafePointer<Float>, _ k: UnsafePointer<UInt16>, _ n: Int) -> Float {
        #if AIRLOCK_X86_AVX2
        var acc = _mm256_setzero_ps()
        var i = 0
        while i < n {
            let kv = _mm256_cvtph_ps(_mm_loadu_si128(UnsafeRawPointer(k + i).assumingMemoryBound(to: __m128i.self)))
            acc = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), kv, acc)
            i += 8
        }
        return QuantizedDot.hsum(acc)
        #else
        var s: Float = 0
        for i in 0..<n { s += q[i] * HalfFloat.f16ToFloat(k[i]) }
        return s
        #endif
    }

    /// Requests the cache lines of `bytes` bytes at `p` (prefetches never fault, so `p` may
    /// point past the data).
    @inline(__always)
    static func prefetch(_ p: UnsafeRawPointer, bytes: Int) {
        var off = 0
        while off < bytes {
            airlock_prefetch(p + off)
            off &+= 64
        }
    }

    /// `dotHalf` of q with four keys at once: four independent accumulator chains instead
    /// of one (the chain's FMA latency bound the score loop), each computed exactly as
    /// `dotHalf` computes it.
    @inline(__always)
    static func dotHalf4(_ q: UnsafePointer<Float>, _ k0: UnsafePointer<UInt16>, _ k1: UnsafePointer<UInt16>,
                         _ k2: UnsafePointer<UInt16>, _ k3: UnsafePointer<UInt16>, _ n: Int) -> SIMD4<Float> {
        #if AIRLOCK_X86_AVX2
        var a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps()
        var i = 0
        while i < n {
            let qv = _mm256_loadu_ps(q + i)
            a0 = _mm256_fmadd_ps(qv, _mm256_cvtph_ps(_mm_loadu_si128(UnsafeRawPointer(k0 + i).assumingMemoryBound(to: __m128i.self))), a0)
            a1 = _mm256_fmadd_ps(qv, _mm256_cvtph_ps(_mm_loadu_si128(UnsafeRawPointer(k1 + i).assumingMemoryBound(to: __m128i.self))), a1)
            a2 = _mm256_fmadd_ps(qv, _mm256_cvtph_ps(_mm_loadu_si128(UnsafeRawPointer(k2 + i).assumingMemoryBound(to: __m128i.self))), a2)
            a3 = _mm256_fmadd_ps(qv, _mm256_cvtph_ps(_mm_loadu_si128(UnsafeRawPointer(k3 + i).assumingMemoryBound(to: __m128i.self))), a3)
            i += 8
        }
        return SIMD4(QuantizedDot.hsum(a0), QuantizedDot.hsum(a1), QuantizedDot.hsum(a2), QuantizedDot.hsum(a3))
        #else
        return SIMD4(dotHalf(q, k0, n), dotHalf(q, k1, n), dotHalf(q, k2, n), dotHalf(q, k3, n))
        #endif
    }

    /// out[0..<64] = Σ_t roundToF16(scores[t]·inv) · v_t, v_t the fp16 row at `v + t·stride`:
    /// the same per-element FMAs, in the same order, as zeroing `out` and calling `axpyHalf`
    /// for each t, with the accumulators kept in registers instead of memory.
    static func weightedSumHalf64(_ scores: UnsafePointer<Float>, _ inv: Float, _ count: Int,
                                  _ v: UnsafePointer<UInt16>, stride: Int, _ out: UnsafeMutablePointer<Float>) {
        #if AIRLOCK_X86_AVX2
        var y0 = _mm256_setzero_ps(), y1 = _mm256_setzero_ps(), y2 = _mm256_setzero_ps(), y3 = _mm256_setzero_ps()
        var y4 = _mm256_setzero_ps(), y5 = _mm256_setzero_ps(), y6 = _mm256_setzero_ps(), y7 = _mm256_setzero_ps()
        var t = 0
        while t < count {
            let av = _mm256_set1_ps(HalfFloat.roundToF16(scores[t] * inv))
            let raw = UnsafeRawPointer(v + t &* stride)
            prefetch(raw + 8 &* stride &* 2, bytes: 128)
            @inline(__always) func h(_ k: Int) -> __m256 {
                _mm256_cvtph_ps(_mm_loadu_si128((raw + k &* 16).assumingMemoryBound(to: __m128i.self)))
            }
            y0 = _mm256_fmadd_ps(h(0), av, y0); y1 = _mm256_fmadd_ps(h(1), av, y1)
            y2 = _mm256_fmadd_ps(h(2), av, y2); y3 = _mm256_fmadd_ps(h(3), av, y3)
            y4 = _mm256_fmadd_ps(h(4), av, y4); y5 = _mm256_fmadd_ps(h(5), av, y5)
            y6 = _mm256_fmadd_ps(h(6), av, y6); y7 = _mm256_fmadd_ps(h(7), av, y7)
            t &+= 1
        }
        _mm256_storeu_ps(out, y0); _mm256_storeu_ps(out + 8, y1); _mm256_storeu_ps(out + 16, y2); _mm256_storeu_ps(out + 24, y3)
        _mm256_storeu_ps(out + 32, y4); _mm256_storeu_ps(out + 40, y5); _mm256_storeu_ps(out + 48, y6); _mm256_storeu_ps(out + 56, y7)
        #else
        out.update(repeating: 0, count: 64)
        for t in 0..<count { axpyHalf(HalfFloat.roundToF16(scores[t] * inv), v + t * stride, out, 64) }
        #endif
    }

    /// y += a · v (v fp16), length n (multiple of 8).
    @inline(__always)
    static func axpyHalf(_ a: Float, _ v: UnsafePointer<UInt16>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        #if AIRLOCK_X86_AVX2
        let av = _mm256_set1_ps(a)
        var i = 0
        while i < n {
            let vv = _mm256_cvtph_ps(_mm_loadu_si128(UnsafeRawPointer(v + i).assumingMemoryBound(to: __m128i.self)))
            _mm256_storeu_ps(y + i, _mm256_fmadd_ps(vv, av, _mm256_loadu_ps(y + i)))
            i += 8
        }
        #else
        for i in 0..<n { y[i] += a * HalfFloat.f16ToFloat(v[i]) }
        #endif
    }
}
