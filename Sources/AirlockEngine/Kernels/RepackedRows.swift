import CAirlockKernels
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A Q4_1 matrix's rows rearranged in groups of four for the decode kernel
/// `airlock_q4_1_rows4_vnni` (see `airlock_q4_1_repack4` for the layout). That kernel needs
/// one nibble load and no byte shuffles per block of four rows where the plain layout needs
/// three shuffles per block pair of two rows: on one EPYC core it computes 40 GB/s of
/// cache-resident weights instead of 21, so two threads are no longer compute-bound while
/// they stream the weights from DRAM. Same results, bit for bit.
///
/// The copy sits beside the original (prompt passes still read that one), on 2 MB pages
/// like the weights, the matrices of a model back to back; whole groups only, the last
/// `rows % 4` rows stay in the plain layout.
final class RepackedRows: @unchecked Sendable {
    // Written once in init, read-only afterwards.
    let base: UnsafeRawPointer
    /// Rows covered: a multiple of 4.
    let rows: Int
    /// Keeps the memory mapped while this matrix lives.
    private let arena: Arena
    private let bytes: Int

    /// Whether Q4_1 matrices are repacked: on the AVX-512 VNNI path unless
    /// `AIRLOCK_ENGINE_REPACK=off` (which saves the copy's memory).
    static let enabled: Bool = {
        #if AIRLOCK_X86_AVX2
        let off = ["off", "0", "false"].contains(ProcessInfo.processInfo.environment["AIRLOCK_ENGINE_REPACK"]?.lowercased() ?? "")
        return KernelPath.active == .avx512vnni && !off
        #else
        return false
        #endif
    }()

    /// The repacked copy of `w`'s whole groups of four rows, or nil when `w` is not Q4_1, has
    /// fewer than four rows or is too wide for the VNNI kernels, or memory is short.
    init?(_ w: WeightMatrix) {
        #if AIRLOCK_X86_AVX2
        guard w.type == .q4_1, w.rows >= 4, w.cols % 32 == 0, w.cols <= KernelPath.maxVNNIWidth else { return nil }
        let groups = w.rows / 4
        bytes = groups * 4 * w.rowBytes
        guard let (arena, p) = Arena.allocate(bytes) else { return nil }
        airlock_q4_1_repack4(w.data, w.rowBytes, groups, p)
        // Every path reads these rows from the copy now (decode, and `MatMul` for batches and
        // prompts), so the original's pages are handed back: the weights count once in RSS.
        // They stay readable (an embedding lookup on tied weights still reads a row there).
        MappedFile.releasePages(w.data, bytes: bytes)
        self.arena = arena
        base = UnsafeRawPointer(p)
        rows = groups * 4
        #else
        return nil
        #endif
    }

    deinit { Arena.release(bytes) }

    /// Huge-page memory that a model's repacked matrices share, back to back (one mapping
    /// each would round every matrix up to a whole 2 MB page, and start every one at the same
    /// cache sets). A large reservation whose pages are committed only as they are written;
    /// unmapped when its last matrix goes.
    final class Arena: @unchecked Sendable {
        // `used` changes only under `current`'s lock.
        let base: UnsafeMutableRawPointer
        let capacity: Int
        var used = 0

        private init?(capacity: Int) {
            guard let p = mmap(nil, capacity, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0),
                  p != MAP_FAILED else { return nil }
            _ = madvise(p, capacity, MADV_HUGEPAGE)
            base = p
            self.capacity = capacity
        }

        deinit { munmap(base, capacity) }

        /// The arena being filled (weak, so one that no matrix uses any more is unmapped) and
        /// the bytes of all live repacked matrices.
        private static let current = Mutex<State>(State())
        struct State: @unchecked Sendable {
            weak var arena: Arena?
            var live = 0
        }

        static let reservation = 1 << 30

        /// `bytes` bytes (64-byte aligned) from the current arena, or a new one; nil when the
        /// copies would take more than half of the memory available (a model near the
        /// machine's size then keeps its plain layout only).
        static func allocate(_ bytes: Int) -> (Arena, UnsafeMutableRawPointer)? {
            let available = MappedFile.availableMemory() ?? Int.max
            return current.withLock { slot in
                let size = (bytes + 63) & ~63
                guard slot.live + size <= available / 2 else { return nil }
                slot.live += size
                if let a = slot.arena, a.capacity - a.used >= size {
                    defer { a.used += size }
                    return (a, a.base + a.used)
                }
                guard let a = Arena(capacity: max(reservation, (size + (2 << 20) - 1) & ~((2 << 20) - 1))) else {
                    slot.live -= size
                    return nil
                }
                a.used = size
                slot.arena = a
                return (a, a.base)
            }
        }

        /// A repacked matrix of `bytes` bytes is gone.
        static func release(_ bytes: Int) {
            current.withLock { $0.live -= (bytes + 63) & ~63 }
        }
    }
}
