#if AIRLOCK_X86_AVX2
import CAirlockKernels
#endif

extension QuantizedDot {
    /// `out[i] = W[first + i] · acts[r]` for `count` consecutive rows of one token (decode),
    /// on the given kernel path. False when there is no row-run kernel for `type` on this
    /// build (the caller then goes row by row).
    @inline(__always)
    static func decodeRows(_ type: GGMLType, _ w: UnsafeRawPointer, rowBytes: Int, count: Int, _ n: Int,
                           _ acts: QuantizedActivations, _ r: Int, _ out: UnsafeMutablePointer<Float>,
                           path: KernelPath = .active) -> Bool {
        #if AIRLOCK_X86_AVX2
        let vnni = path == .avx512vnni && n <= KernelPath.maxVNNIWidth
        switch type {
        case .q4_1:
            if vnni {
                airlock_q4_1_rows_vnni(w, rowBytes, count, n, acts.qsRow(r), acts.dRow(r), acts.sRow(r),
                                       acts.scaleStride, out)
            } else {
                q4_1Rows(w, rowBytes: rowBytes, count: count, n, acts, r, out)
            }
            return true
        case .q8_0, .q4_0:
            if vnni {
                airlock_signed_rows_vnni(w, rowBytes, count, n, acts.qsRow(r), acts.dRow(r), acts.scaleStride,
                                         out, type == .q4_0 ? 1 : 0)
            } else {
                signedRows(w, rowBytes: rowBytes, count: count, n, acts, r, out, nibbles: type == .q4_0)
            }
            return true
        default:
            return false
        }
        #else
        return false
        #endif
    }

    /// `out[i] = W[lo + i] · acts[r]` for the rows `range` of a Q4_1 matrix with a repacked
    /// copy (VNNI path): the whole groups of four through the four-row kernel, rows before the
    /// first group boundary or past the last whole group through the plain one.
    @inline(__always)
    static func decodeRows(_ w: WeightMatrix, repacked base: UnsafeRawPointer, rows packedRows: Int, _ range: Range<Int>,
                           _ acts: QuantizedActivations, _ r: Int, _ out: UnsafeMutablePointer<Float>) {
        #if AIRLOCK_X86_AVX2
        let lo = range.lowerBound, hi = range.upperBound
        let a = min(hi, (lo + 3) & ~3), b = max(a, min(hi, packedRows) & ~3)
        let q = acts.qsRow(r), d = acts.dRow(r), s = acts.sRow(r), ss = acts.scaleStride
        if a > lo { airlock_q4_1_rows_vnni(w.row(lo), w.rowBytes, a - lo, w.cols, q, d, s, ss, out) }
        if b > a {
            airlock_q4_1_rows4_vnni(base + a * w.rowBytes, w.rowBytes, b - a, w.cols, q, d, s, ss, out + (a - lo))
        }
        if hi > b { airlock_q4_1_rows_vnni(w.row(b), w.rowBytes, hi - b, w.cols, q, d, s, ss, out + (b - lo)) }
        #endif
    }
}
