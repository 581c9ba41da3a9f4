import Foundation

/// Chooses, step by step, whether a decode step runs on the whole worker pool or on the
/// calling thread alone.
///
/// On a quiet machine the pool wins: every core streams its share of the weights. When
/// other processes want the same cores, a helper is often descheduled in the middle of a
/// job and the step waits for it; on the shared 2-core box, under the other sessions'
/// builds, two threads decoded at 50–70 tok/s and one thread at 90–110 (SmolLM2 Q4_1).
/// With two CPU-bound processes beside it, the pool alone gave 48–60 tok/s and the tuner
/// 52–80 (one thread 71–89); at moderate load, tuner and pool alone measured the same. A
/// lower contention threshold (2%) moved more of the busy case but lost up to 30% at
/// moderate load to noisy decisions, so the gate stays conservative. The tuner keeps the
/// faster mode: it runs the preferred one with, now and then, `probeLength` steps of the
/// other, and switches when the other's median step time is clearly lower. While the pool
/// is preferred, a probe runs only if the pool showed contention since the last one (long
/// waits for helpers, `WorkerPool.longWaitNanoseconds`, at least `contentionShare` of the
/// step time), so a quiet machine never runs slow probe steps. Probes come `firstProbe`
/// steps after a start or a switch, then twice as far apart each time the preferred mode
/// holds (up to `maxProbeInterval`).
/// Both modes compute the same bits (a row's arithmetic does not depend on how the rows
/// are split between workers), so this changes only speed.
///
/// `AIRLOCK_ENGINE_THREAD_TUNING=off` keeps every step on the pool (to measure the pool alone).
struct ThreadModeTuner {
    static let firstProbe = 12
    static let maxProbeInterval = 384
    static let probeLength = 4
    /// The other mode must beat the preferred one's median by this factor to take over:
    /// single step times are noisy on a shared machine.
    static let margin = 0.90
    /// Long pool waits, as a share of step time, that make a probe of one thread worthwhile.
    static let contentionShare = 0.05

    static let enabledByEnvironment: Bool =
        ProcessInfo.processInfo.environment["AIRLOCK_ENGINE_THREAD_TUNING"]?.lowercased() != "off"

    let enabled: Bool
    /// Tests: every step in this mode (true: calling thread alone), no measuring.
    let pinnedSolo: Bool?
    /// The mode steps run in outside probes.
    private(set) var prefersSolo = false
    /// Steps since the last probe and before the next; the batch size these timings are for.
    private var sinceProbe = 0
    private var interval = ThreadModeTuner.firstProbe
    private var batch = -1
    private var probing = false
    private var recent: [UInt64] = []
    /// Step time and long pool waits since the last probe (pool preferred).
    private var stepTotal: UInt64 = 0
    private var waitTotal: UInt64 = 0
    private var probe: [UInt64] = []
    /// Mode switches and steps run alone so far (tests and diagnostics).
    private(set) var switches = 0
    private(set) var soloSteps = 0

    init(enabled: Bool = ThreadModeTuner.enabledByEnvironment) {
        self.enabled = enabled
        pinnedSolo = nil
    }

    init(pinnedSolo: Bool) {
        enabled = true
        self.pinnedSolo = pinnedSolo
    }

    /// Whether the next step, of `n` rows, should run on the calling thread alone.
    mutating func beginStep(rows n: Int) -> Bool {
        guard enabled else { return false }
        if let pinned = pinnedSolo {
            if pinned { soloSteps += 1 }
            return pinned
        }
        if n != batch {
            // Step times of another batch size are not comparable: start over on the pool.
            batch = n
            prefersSolo = false
            probing = false
            sinceProbe = 0
            interval = Self.firstProbe
            stepTotal = 0
            waitTotal = 0
            recent.removeAll(keepingCapacity: true)
            probe.removeAll(keepingCapacity: true)
        }
        let solo = probing ? !prefersSolo : prefersSolo
        if solo { soloSteps += 1 }
        return solo
    }

    /// Records the duration of the step `beginStep` was asked about, and the pool's long
    /// waits during it.
    mutating func endStep(nanoseconds: UInt64, poolWaitNanoseconds: UInt64 = 0) {
        guard enabled && pinnedSolo == nil else { return }
        if probing {
            probe.append(nanoseconds)
            guard probe.count == Self.probeLength else { return }
            if Double(Self.median(probe)) < Double(Self.median(recent)) * Self.margin {
                prefersSolo.toggle()
                switches += 1
                recent = probe
                interval = Self.firstProbe
            } else {
                interval = min(interval * 2, Self.maxProbeInterval)
            }
            probing = false
            sinceProbe = 0
            probe.removeAll(keepingCapacity: true)
            return
        }
        recent.append(nanoseconds)
        if recent.count > Self.probeLength { recent.removeFirst() }
        stepTotal &+= nanoseconds
        waitTotal &+= poolWaitNanoseconds
        sinceProbe += 1
        guard sinceProbe >= interval && recent.count == Self.probeLength else { return }
        if prefersSolo || Double(waitTotal) >= Self.contentionShare * Double(stepTotal) {
            probing = true
        } else {
            // No contention on the pool: no probe, look again later.
            sinceProbe = 0
            interval = min(interval * 2, Self.maxProbeInterval)
        }
        stepTotal = 0
        waitTotal = 0
    }

    static func median(_ values: [UInt64]) -> UInt64 {
        let s = values.sorted()
        return s.isEmpty ? 0 : s[s.count / 2]
    }
}
