/// How this copy of the engine was compiled: tests and the benchmark report it, and tests
/// scale their workload down when the kernels run unoptimised.
public enum EngineBuildInfo {
    /// True when the engine module itself was compiled with optimisation.
    public static var isOptimized: Bool { !_isDebugAssertConfiguration() }

    /// The kernel family compiled in: "avx2" (x86-64 with AVX2/FMA/F16C) or "portable".
    public static var kernels: String {
        #if AIRLOCK_X86_AVX2
        return "avx2"
        #else
        return "portable"
        #endif
    }
}
