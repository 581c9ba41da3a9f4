#if AIRLOCK_X86_AVX2
import _Builtin_intrinsics.intel
#endif
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
