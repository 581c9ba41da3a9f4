import AirlockCore
import Foundation
import NIOCore

/// How many event loops (threads) the process's NIO singleton group gets.
///
/// NIO sizes it from the machine's cores, its cgroup cpuset and CPU quota, but not from the
/// process's own CPU affinity: started under `taskset -c 1` (or a systemd `CPUAffinity=`) on a
/// two-core machine it still makes two loops, which then take turns on one CPU. With Swift
/// concurrency running on the loops, the request path and the audit writer then preempt each
/// other; side by side, one loop made 39% fewer context switches and used ~5% less CPU per
/// call at concurrency 1 (BENCHMARKS.md, eleventh session).
public enum EventLoopSizing {
    /// `AIRLOCK_EVENT_LOOPS` (a positive number) wins; else NIO's own variable
    /// `NIO_SINGLETON_GROUP_LOOP_COUNT` is left to NIO (nil); else the smaller of NIO's count
    /// and the CPUs the process may run on, or nil when that is NIO's count anyway.
    public static func loopCount(environment: [String: String], nioCount: Int, affinityCount: Int?) throws(AirlockError) -> Int? {
        if let raw = environment["AIRLOCK_EVENT_LOOPS"] {
            guard let n = Int(raw.trimmingCharacters(in: .whitespaces)), (1...1024).contains(n) else {
                throw AirlockError(.invalidRequest, "AIRLOCK_EVENT_LOOPS must be a whole number from 1 to 1024")
            }
            return n
        }
        if environment["NIO_SINGLETON_GROUP_LOOP_COUNT"] != nil { return nil }
        guard let affinityCount, affinityCount >= 1, affinityCount < nioCount else { return nil }
        return affinityCount
    }

    /// CPUs in this process's affinity mask (the `Cpus_allowed_list` line of
    /// `/proc/self/status`, which is what `sched_getaffinity` reports), nil where unknown.
    public static func affinityCount(status: String? = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) -> Int? {
        guard let status else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix("Cpus_allowed_list:") {
            return cpuCount(list: line.dropFirst("Cpus_allowed_list:".count))
        }
        return nil
    }

    /// Counts a kernel CPU list such as `0-3,8,10-11`; nil when it is not one.
    public static func cpuCount(list: Substring) -> Int? {
        var total = 0
        for part in list.trimmingCharacters(in: .whitespaces).split(separator: ",") {
            let bounds = part.split(separator: "-", omittingEmptySubsequences: false)
            guard (1...2).contains(bounds.count), let first = Int(bounds[0]), let last = Int(bounds[bounds.count - 1]),
                  first >= 0, last >= first else { return nil }
            total += last - first + 1
        }
        return total > 0 ? total : nil
    }

    /// Applies the count to NIO's singletons. Call once, first thing in `main`, before
    /// anything touches an event loop.
    public static func configure(environment: [String: String] = ProcessInfo.processInfo.environment) throws(AirlockError) {
        if let n = try loopCount(environment: environment, nioCount: System.coreCount, affinityCount: affinityCount()) {
            NIOSingletons.groupLoopCountSuggestion = n
        }
    }
}
