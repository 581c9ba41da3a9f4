/// How this copy of the engine was compiled: tests and the benchmark report it, and tests
/// scale their workload down when the kernels run unoptimised.
public enum EngineBuildInfo {
    /// True when the engine module itself was compiled with optimisation.
    public static var isOptimized: Bool { !_isDebugAssertConfiguration() }

    /// The kernel family in use: "avx2" (x86-64 with AVX2/FMA/F16C), "avx512vnni" (AVX2 plus
    /// the AVX-512 VNNI decode kernels, chosen at run time) or "portable".
    public static var kernels: String {
        #if AIRLOCK_X86_AVX2
        return KernelPath.active.rawValue
        #else
        return "portable"
        #endif
    }
}
