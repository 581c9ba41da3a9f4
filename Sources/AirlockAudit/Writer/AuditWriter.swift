import AirlockCore
import Crypto
import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle

/// Writes audit events off the request path: callers enqueue (`record`, never blocks) or
/// enqueue and await durability (`recordDurably`, for fail-closed policies); one loop seals
/// events into this instance's hash chain and COPYs them in batches into PostgreSQL. When
/// PostgreSQL is slow or down the batch goes to the fsync'd spool instead and is replayed in
/// order once the database is back. Nothing is dropped: if neither the database nor the
/// spool can take an event, `recordDurably` throws and `record` keeps it queued and retries.
///
/// Run it as a `Service` in the gateway's ServiceGroup, listed before the HTTP server so it
/// shuts down after it: on graceful shutdown it drains the queue before returning.
public final class AuditWriter: Service, Sendable {
    public let configuration: AuditWriterConfiguration
    let store: AuditStore
    let logger: Logger
    let signer: ChainSigner?
    let cipher: PayloadCipher?
    /// Where the writer runs when it has a thread of its own (see `BackgroundThread`).
    let thread: BackgroundThread?
    private let shared = LockedBox(Shared())
    private let bell = Doorbell()

    /// Finishes an event on the writer's thread before it is sealed (work only the audit row
    /// needs, such as the findings' fingerprints, kept off the request's thread).
    public typealias Completion = @Sendable (inout AuditEvent) -> Void

    struct Pending {
        var event: AuditEvent
        var waiter: Int?
        var enqueued: ContinuousClock.Instant
        var completion: Completion? = nil

        /// The event as it is to be sealed.
        var completedEvent: AuditEvent {
            guard let completion else { return event }
            var event = event
            completion(&event)
            return event
        }
    }

    struct Shared {
        var queue: [Pending] = []
        var waiters: [Int: CheckedContinuation<Void, any Error>] = [:]
        var nextWaiter = 0
        var stats = AuditWriterStats()
        var stopped = false
        var drainWaiters: [CheckedContinuation<Void, Never>] = []
    }

    /// `thread`: run the writer there (its database connections should be on its loop too);
    /// without one it runs wherever Swift concurrency runs.
    public init(client: PostgresClient, configuration: AuditWriterConfiguration, logger: Logger, thread: BackgroundThread? = nil) {
        self.configuration = configuration
        self.thread = thread
        self.store = AuditStore(client: client, logger: logger)
        self.logger = logger
        self.signer = configuration.checkpointKey.map(ChainSigner.init)
        self.cipher = configuration.payloadKey.map { PayloadCipher(key: $0) }
    }

    /// Queues an event, to be finished by `completing` on the writer's thread; returns at once.
    public func record(_ event: AuditEvent, completing: Completion? = nil) {
        let now = ContinuousClock.now
        let behind = shared.withLock { s -> Bool in
            s.queue.append(Pending(event: event, waiter: nil, enqueued: now, completion: completing))
            s.stats.accepted += 1
            return isBehind(s, now: now)
        }
        // An idle-policy writer that falls behind (the request threads keep the CPUs busy)
        // gets the normal policy for its next batch.
        if behind { thread?.boost() }
        bell.ring()
    }

    /// Queues an event and returns once it is committed to PostgreSQL or fsync'd to the
    /// spool. Throws `AirlockError(.auditUnavailable)` (HTTP 503) when it cannot be made
    /// durable: a fail-closed caller must then refuse the request.
    public func recordDurably(_ event: AuditEvent) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let accepted = shared.withLock { s -> Bool in
                guard !s.stopped else { return false }
                s.nextWaiter += 1
                s.waiters[s.nextWaiter] = continuation
                s.queue.append(Pending(event: event, waiter: s.nextWaiter, enqueued: .now))
                s.stats.accepted += 1
                return true
            }
            if accepted {
                thread?.boost()  // a caller waits on this write
                bell.ring()
            } else {
                continuation.resume(throwing: AirlockError(.auditUnavailable, "audit writer is stopped"))
            }
        }
    }

    /// Returns when everything queued before the call is durable (database or spool; the
    /// journal is written out for it).
    public func flush() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let empty = shared.withLock { s -> Bool in
                if s.queue.isEmpty && s.stats.journaled == 0 { return true }
                s.drainWaiters.append(c)
                return false
            }
            if empty { c.resume() } else { bell.ring() }
        }
    }

    /// Whether an event recorded now could be made durable: the database took the last batch,
    /// or the spool can take appends (its folder is writable, its file system has room and its
    /// last append did not fail). Checked before a fail-closed call is streamed, since a
    /// streamed answer cannot be withheld once it has started.
    public var canPersist: Bool {
        let stats = self.stats
        if shared.withLock({ $0.stopped }) { return false }
        if stats.databaseHealthy { return true }
        if stats.spoolFailing { return false }
        return AuditSpool.hasRoom(directory: configuration.spoolDirectory)
    }

    public var stats: AuditWriterStats {
        shared.withLock { s in
            var out = s.stats
            out.queueDepth = s.queue.count
            return out
        }
    }

    public func run() async throws {
        try await withTaskExecutorPreference(thread?.executor) {
            try await runLoop()
        }
    }

    private func runLoop() async throws {
        var loop = try WriterLoop(writer: self)
        let ticker = Task { [bell] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(200))
                // Off the writer's thread: a writer starved without new events to boost it
                // (the local engine keeping every CPU busy, say) is boosted from here.
                if isBehind() { thread?.boost() }
                bell.ring()
            }
        }
        defer { ticker.cancel() }
        let shuttingDown = LockedBox(false)
        await withGracefulShutdownHandler {
            await withTaskCancellationHandler {
                while true {
                    let cancelled = Task.isCancelled
                    let stopping = shuttingDown.withLock { $0 } || cancelled
                    let before = shared.withLock { $0.queue.count }
                    if stopping { thread?.boost() }  // drain at the normal policy
                    await loop.iterate(cancelled: cancelled, stopping: stopping, maxBatch: batchLimit(stopping: stopping))
                    if !stopping { relaxUnlessWaitedOn() }
                    let left = shared.withLock { $0.queue.count }
                    if stopping && left == 0 && loop.journaled.isEmpty { break }
                    // Cancelled (shutdown grace exceeded): batches go to the spool only; if
                    // even that makes no progress, say how many events are lost — never silently.
                    if cancelled && left >= before {
                        logger.error("audit writer cancelled with events it could not persist", metadata: ["events": "\(left)"])
                        break
                    }
                    if left == 0 {
                        // Journaled events wake the loop when they are due in the database.
                        if let due = loop.journalDue { await bell.wait(until: due, on: thread?.loop) } else { await bell.wait() }
                    }
                    if !shuttingDown.withLock({ $0 }) && !Task.isCancelled, let linger = lingerBeforeNextBatch() {
                        try? await LoopTimer.sleep(for: linger, on: thread?.loop)
                    }
                }
            } onCancel: { [bell] in
                bell.ring()
            }
        } onGracefulShutdown: { [bell] in
            shuttingDown.withLock { $0 = true }
            bell.ring()
        }
        // Late callers get an error rather than a silent drop.
        let late = shared.withLock { s -> [CheckedContinuation<Void, any Error>] in
            s.stopped = true
            let w = Array(s.waiters.values)
            s.waiters.removeAll()
            return w
        }
        for c in late { c.resume(throwing: AirlockError(.auditUnavailable, "audit writer is stopped")) }
        await loop.finish()
        logger.info("audit writer stopped", metadata: ["chain_id": .string(configuration.chainID), "spool_pending": "\(loop.spool.pendingRecords)"])
    }

    // MARK: loop plumbing

    /// Back to the idle policy after each batch unless a fail-closed caller waits: a boost buys
    /// one batch, and the next event that finds the queue still behind buys the next.
    private func relaxUnlessWaitedOn() {
        guard let thread, !thread.isIdlePolicy else { return }
        if shared.withLock({ $0.waiters.isEmpty }) { thread.relax() }
    }

    /// A writer boosted because it fell behind writes small batches, so a request that arrives
    /// meanwhile waits behind one small batch at most rather than a whole backlog.
    func batchLimit(stopping: Bool) -> Int {
        guard let thread, thread.idleWhenQuiet, !thread.isIdlePolicy, !stopping,
              shared.withLock({ $0.waiters.isEmpty }) else { return configuration.maxBatch }
        return configuration.boostedBatch
    }

    /// The queue is past the bound at which an idle-policy writer is boosted.
    func isBehind(now: ContinuousClock.Instant = .now) -> Bool {
        shared.withLock { isBehind($0, now: now) }
    }

    private func isBehind(_ s: Shared, now: ContinuousClock.Instant) -> Bool {
        guard let oldest = s.queue.first else { return false }
        return s.queue.count >= configuration.boostQueueDepth || now - oldest.enqueued >= configuration.boostQueueAge
    }

    /// How long the queue should wait for company before it is written (or, with the
    /// journal, journaled), if at all. Never while fail-closed callers wait on the write: they
    /// are not made to wait for a batch.
    func lingerBeforeNextBatch(now: ContinuousClock.Instant = .now) -> Duration? {
        shared.withLock { s in
            guard s.waiters.isEmpty else { return nil }
            return Self.linger(oldest: s.queue.first?.enqueued, queued: s.queue.count, now: now,
                               linger: configuration.journal ? configuration.journalLinger : configuration.batchLinger,
                               maxBatch: configuration.maxBatch)
        }
    }

    /// Someone waits in `flush` for everything recorded so far.
    var drainAwaited: Bool { shared.withLock { !$0.drainWaiters.isEmpty } }

    /// A batch is written once its oldest event has waited `linger` or it is full. Measured
    /// from the oldest event, not from the last write: otherwise, at a steady trickle, the
    /// event that arrived during a write was written alone right after it, and the next one
    /// during that write, and so on — one transaction (six round trips) per call at c=1.
    static func linger(oldest: ContinuousClock.Instant?, queued: Int, now: ContinuousClock.Instant,
                       linger: Duration, maxBatch: Int) -> Duration? {
        guard let oldest, queued < maxBatch else { return nil }
        let waited = now - oldest
        return waited < linger ? linger - waited : nil
    }

    func take(max: Int) -> [Pending] {
        shared.withLock { s in
            let n = min(max, s.queue.count)
            let batch = Array(s.queue.prefix(n))
            s.queue.removeFirst(n)
            return batch
        }
    }

    func requeueFront(_ pending: [Pending]) {
        shared.withLock { $0.queue.insert(contentsOf: pending, at: 0) }
    }

    func complete(_ batch: [Pending], error: (any Error)?, update: (inout AuditWriterStats) -> Void) {
        let (continuations, drained) = shared.withLock { s -> ([CheckedContinuation<Void, any Error>], [CheckedContinuation<Void, Never>]) in
            update(&s.stats)
            var out: [CheckedContinuation<Void, any Error>] = []
            for p in batch { if let w = p.waiter, let c = s.waiters.removeValue(forKey: w) { out.append(c) } }
            var drained: [CheckedContinuation<Void, Never>] = []
            if s.queue.isEmpty && s.stats.journaled == 0 { drained = s.drainWaiters; s.drainWaiters.removeAll() }
            return (out, drained)
        }
        for c in continuations {
            if let error { c.resume(throwing: error) } else { c.resume() }
        }
        for c in drained { c.resume() }
    }

    func updateStats(_ update: (inout AuditWriterStats) -> Void) { shared.withLock { update(&$0.stats) } }
}

/// Wakes the writer loop; a ring while nobody waits is remembered once.
final class Doorbell: Sendable {
    private let state = LockedBox<(waiter: CheckedContinuation<Void, Never>?, rung: Bool)>((nil, false))

    func ring() {
        let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
            if let w = s.waiter { s.waiter = nil; return w }
            s.rung = true
            return nil
        }
        waiter?.resume()
    }

    /// Waits for a ring, or until `deadline` at the latest.
    func wait(until deadline: ContinuousClock.Instant, on loop: (any EventLoop)?) async {
        let left = deadline - .now
        guard left > .zero else { return }
        let timer = LoopTimer.schedule(after: left, on: loop) { [self] in ring() }
        await wait()
        timer.cancel()
    }

    func wait() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let resumeNow = state.withLock { s -> Bool in
                if s.rung { s.rung = false; return true }
                s.waiter = c
                return false
            }
            if resumeNow { c.resume() }
        }
    }
}
