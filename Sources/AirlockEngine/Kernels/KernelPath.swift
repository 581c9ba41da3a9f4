import CAirlockKernels
import Foundation

/// Which single-token (decode) kernels run: the AVX-512 VNNI ones (C, `CAirlockKernels`)
/// when the CPU has them, else the AVX2 Swift kernels. Chosen once at run time, since
/// release builds target plain AVX2 machines too. Both give bit-identical results.
///
/// `AIRLOCK_ENGINE_KERNELS=avx2` forces the AVX2 kernels (to compare or rule out the VNNI
/// path); any other value, or none, picks the best the CPU supports.
enum KernelPath: String, Sendable {
    case avx2
    case avx512vnni

    /// The path this process uses.
    static let active: KernelPath = resolve(
        requested: ProcessInfo.processInfo.environment["AIRLOCK_ENGINE_KERNELS"],
        cpuSupportsVNNI: cpuSupportsVNNI)

    static let cpuSupportsVNNI: Bool = {
        #if AIRLOCK_X86_AVX2
        return airlock_cpu_supports_avx512vnni() != 0
        #else
        return false
        #endif
    }()

    static func resolve(requested: String?, cpuSupportsVNNI: Bool) -> KernelPath {
        if requested?.lowercased() == "avx2" { return .avx2 }
        return cpuSupportsVNNI ? .avx512vnni : .avx2
    }

    /// Widest row the VNNI kernels take (their per-call activation tables live on the stack).
    static let maxVNNIWidth = 16_384
}
