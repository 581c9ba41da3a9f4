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
}
