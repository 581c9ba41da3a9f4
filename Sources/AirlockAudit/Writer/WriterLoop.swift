import AirlockCore
import Crypto
import Foundation
import Logging
import PostgresNIO

/// The single consumer of the writer's queue: owns the chain head, the spool, the journal
/// and the database health flag, so none of them needs a lock.
struct WriterLoop {
    let writer: AuditWriter
    let spool: AuditSpool
    /// Set when the configuration asks for the write-ahead journal (`AuditJournal`).
    let journal: AuditJournal?
    /// Sealed events in the journal, oldest first, waiting for their database transaction.
    var journaled: [SpoolEntry] = []
    /// When the oldest of them was recorded.
    var journaledSince: ContinuousClock.Instant?
    var journaledPayloadsDropped = 0
    var head: AuditStore.Head?
    var databaseHealthy = true
    var nextReplay = ContinuousClock.now
    var knownDays: Set<Int64> = []
    var nextMaintenance = ContinuousClock.now
    var headUnknownSince: ContinuousClock.Instant?
    /// `config.serverGone`, asked at most once a second while the server is there: a slow
    /// database must not also get a fresh connection per slow batch.
    let serverGone: (@Sendable () async -> Bool)?
    /// Set when the configuration can open connections outside the pool.
    var bypass: PoolBypass?
    var config: AuditWriterConfiguration { writer.configuration }
    var logger: Logger { writer.logger }

    init(writer: AuditWriter) throws {
        self.writer = writer
        spool = try AuditSpool(directory: writer.configuration.spoolDirectory)
        serverGone = writer.configuration.serverGone.map { check in
            let lastSeen = LockedBox<ContinuousClock.Instant?>(nil)
            return {
                if let seen = lastSeen.withLock({ $0 }), ContinuousClock.now - seen < .seconds(1) { return false }
                let gone = await check()
                if !gone { lastSeen.withLock { $0 = .now } }
                return gone
            }
        }
        bypass = writer.configuration.openConnection.map { open in
            PoolBypass(open: open, poolAnswers: { [store = writer.store, executor = writer.thread?.executor] in
                (try? await withTimeout(.milliseconds(500), on: executor) { try await store.ping() }) != nil
            }, executor: writer.thread?.executor, logger: writer.logger)
        }
        var last = try spool.recover()
        let directory = writer.configuration.spoolDirectory
        let leftover = AuditJournal.leftover(in: directory)
        if !leftover.isEmpty {
            // A process that stopped abruptly: its journal goes behind the spool, which replays
            // it (skipping what was committed). What the spool already holds (the process died
            // between spooling a batch and emptying the journal) is not added twice.
            let fresh = leftover.filter { entry in
                guard let last, entry.record.chainID == last.chainID else { return true }
                return entry.record.seq > last.seq
            }
            try spool.append(fresh)
            if let tail = fresh.last?.record { last = tail }
            writer.logger.warning("audit journal of a stopped process moved to the spool", metadata: ["records": "\(fresh.count)"])
        }
        AuditJournal.discard(in: directory)
        journal = writer.configuration.journal ? try AuditJournal(directory: directory) : nil
        if let last {
            // The spool only ever holds the newest part of the chain, so its tail is the head
            // (unless the chain id changed since: then that old chain is only replayed).
            if last.chainID == writer.configuration.chainID { head = .init(seq: last.seq, hash: last.hash) }
            databaseHealthy = false
            writer.logger.warning("audit spool holds events to replay", metadata: ["records": "\(spool.pendingRecords)"])
        }
        let pending = spool.pendingRecords
        let healthy = databaseHealthy
        writer.updateStats { $0.spoolPending = pending; $0.databaseHealthy = healthy }
    }

    /// When the journaled events are due in the database (nil: none wait).
    var journalDue: ContinuousClock.Instant? { journaledSince.map { $0 + config.batchLinger } }

    /// One round: maintenance when due, one batch of at most `maxBatch` events (journaled, or
    /// stored with the journaled ones), the journaled events when due, a spool replay when due.
    /// `stopping`: the journal is written out now.
    mutating func iterate(cancelled: Bool, stopping: Bool = false, maxBatch: Int) async {
        bypass?.checkPool()
        let now = ContinuousClock.now
        if !cancelled, now >= nextMaintenance {
            nextMaintenance = now + .seconds(3600)
            await createPartitionsAhead()
        }
        let batch = writer.take(max: maxBatch)
        // Someone waits for everything recorded so far (`flush`), or the writer stops.
        let storeNow = writer.drainAwaited || stopping || cancelled
        if !batch.isEmpty { await write(batch, cancelled: cancelled, storeNow: storeNow) }
        if !journaled.isEmpty, storeNow || journaled.count >= config.maxBatch || ContinuousClock.now >= journalDue! {
            _ = await store([], of: [], droppedPayloads: 0, cancelled: cancelled)
        }
        if !cancelled, !spool.isEmpty, ContinuousClock.now >= nextReplay { await replayOneSegment() }
        let pending = spool.pendingRecords
        let healthy = databaseHealthy
        let seq = head?.seq ?? 0
        let bypassed = bypass?.active ?? false
        writer.updateStats { $0.spoolPending = pending; $0.databaseHealthy = healthy; $0.lastSeq = seq; $0.poolBypassed = bypassed }
    }

    /// The writer is stopping: its own connection, if any, is closed.
    mutating func finish() async {
        await bypass?.close()
    }

    /// Runs `operation` on the pool, or on the bypass connection while the pool is bypassed,
    /// abandoning it after `timeout` (or, with `giveUpEarly`, once `serverGone` says so).
    private mutating func onDatabase<T: Sendable>(within timeout: Duration, giveUpEarly: Bool = false,
                                                  _ operation: @escaping @Sendable (AuditStore) async throws -> T) async throws -> T {
        let unless = giveUpEarly ? serverGone.map { (after: config.suspectAfter, giveUp: $0) } : nil
        let executor = writer.thread?.executor
        if bypass?.active == true {
            let store = AuditStore(connection: try await bypass!.openedConnection(within: timeout), logger: logger)
            do {
                return try await withTimeout(timeout, on: executor, unless: unless) { try await operation(store) }
            } catch {
                bypass!.dropConnection()
                throw error
            }
        }
        do {
            return try await withTimeout(timeout, on: executor, unless: unless) { [store = writer.store] in try await operation(store) }
        } catch {
            bypass?.poolFailed(with: error)
            throw error
        }
    }

    private mutating func write(_ batch: [AuditWriter.Pending], cancelled: Bool, storeNow: Bool) async {
        if head == nil {
            do {
                head = try await onDatabase(within: config.databaseTimeout) { [chainID = config.chainID] store in
                    try await store.head(chainID: chainID) ?? .init(seq: 0, hash: AuditRecord.zeroHash)
                }
                headUnknownSince = nil
            } catch {
                // Without the head no event can be chained: keep them queued, but durable
                // callers only wait so long.
                let since = headUnknownSince ?? .now
                headUnknownSince = since
                var keep = batch
                if ContinuousClock.now - since > config.durableTimeout {
                    let failed = batch.filter { $0.waiter != nil }
                    keep = batch.filter { $0.waiter == nil }
                    writer.complete(failed, error: AirlockError(.auditUnavailable, "audit store unavailable")) { $0.failed += failed.count }
                }
                writer.requeueFront(keep)
                logger.warning("audit chain head unknown: database unavailable", metadata: ["chain_id": .string(config.chainID)])
                try? await Task.sleep(for: .milliseconds(200))
                return
            }
        }
        let before = head!
        var entries: [SpoolEntry] = []
        entries.reserveCapacity(batch.count)
        var current = before
        var droppedPayloads = 0
        for pending in batch {
            current.seq += 1
            let event = pending.completedEvent
            var sealed: SealedPayload?
            var digest: [UInt8]?
            if let payload = event.payload {
                if let cipher = writer.cipher, let p = try? seal(payload, cipher: cipher, tenantID: event.tenantID, seq: current.seq) {
                    sealed = p
                    var h = SHA256()
                    h.update(data: p.request)
                    h.update(data: p.response)
                    digest = Array(h.finalize())
                } else {
                    droppedPayloads += 1
                }
            }
            var record = AuditRecord(event: event, chainID: config.chainID, seq: current.seq, payloadDigest: digest)
            record.seal(prev: current.hash)
            current.hash = record.hash
            entries.append(SpoolEntry(record: record, payload: sealed))
        }

        // Nobody waits on these: into the journal, and into the database with the journal's
        // next transaction.
        if let journal, !storeNow, spool.isEmpty, databaseHealthy, !batch.contains(where: { $0.waiter != nil }),
           journaled.count + entries.count < config.maxBatch {
            do {
                try journal.append(entries)
                if journaled.isEmpty { journaledSince = batch[0].enqueued }
                journaled.append(contentsOf: entries)
                journaledPayloadsDropped += droppedPayloads
                head = current
                let count = journaled.count
                writer.updateStats { $0.journaled = count }
                return
            } catch {
                logger.warning("audit journal write failed; storing the batch now", metadata: ["events": "\(entries.count)"])
            }
        }
        if await store(entries, of: batch, droppedPayloads: droppedPayloads, cancelled: cancelled) { head = current }
    }

    /// Stores the journaled events followed by `entries` (sealed from `batch`): in PostgreSQL
    /// when it is healthy and the spool empty, else in the spool. False when neither took
    /// them: the journaled ones stay, the batch's are un-chained (its durable callers failed,
    /// the others requeued) and the caller keeps the head where it was.
    private mutating func store(_ batchEntries: [SpoolEntry], of batch: [AuditWriter.Pending], droppedPayloads batchDropped: Int,
                                cancelled: Bool) async -> Bool {
        let entries = journaled.isEmpty ? batchEntries : journaled + batchEntries
        let droppedPayloads = batchDropped + journaledPayloadsDropped
        var stored = false
        // With an empty spool there is nothing to replay, so the database is retried directly
        // once the retry interval has passed (else events that the spool could not take
        // would wait for a replay that never comes).
        if spool.isEmpty && (databaseHealthy || ContinuousClock.now >= nextReplay) && !cancelled {
            do {
                // A batch a fail-closed caller waits on goes in one round trip; the others
                // in the COPY transaction, whose pieces leave the CPU between round trips
                // (one longer statement measured slower for the calls around it when
                // PostgreSQL shares the host's CPUs: BENCHMARKS, fourteenth session).
                let someoneWaits = batch.contains { $0.waiter != nil }
                let appended = try await appendToDatabase(entries[...], oneStatement: someoneWaits)
                stored = true
                databaseHealthy = true
                emptyJournal()
                writer.complete(batch, error: nil) {
                    $0.written += entries.count; $0.batches += 1; $0.payloadsDropped += droppedPayloads; $0.databaseHealthy = true
                    $0.journaled = 0
                    if appended.path == .oneStatement { $0.oneStatementBatches += 1 }
                }
            } catch {
                databaseHealthy = false
                knownDays.removeAll()
                nextReplay = .now + config.replayRetryInterval
                logger.warning("audit database write failed; spooling", metadata: ["error": .string(Self.describe(error)), "events": "\(entries.count)"])
            }
        }
        if !stored {
            do {
                try spool.append(entries)
                stored = true
                emptyJournal()
                writer.complete(batch, error: nil) {
                    $0.spooled += entries.count; $0.payloadsDropped += droppedPayloads; $0.journaled = 0
                    $0.spoolFailing = false; $0.databaseHealthy = false
                }
            } catch {
                // Neither store took the batch: un-chain it so no sequence is lost, fail the
                // durable callers (fail-closed refuses their requests) and retry the rest.
                logger.error("audit event could be made durable neither in the database nor in the spool", metadata: ["events": "\(entries.count)"])
                let failed = batch.filter { $0.waiter != nil }
                writer.complete(failed, error: AirlockError(.auditUnavailable, "audit trail unavailable")) {
                    // Published with the failure, before any caller hears of it: a stream
                    // admitted right after must already see that nothing can persist.
                    $0.failed += failed.count; $0.spoolFailing = true; $0.databaseHealthy = false
                }
                writer.requeueFront(batch.filter { $0.waiter == nil })
                try? await Task.sleep(for: .milliseconds(100))
                return false
            }
        }
        return true
    }

    /// The journaled events are committed or fsync'd: the journal starts over.
    private mutating func emptyJournal() {
        guard !journaled.isEmpty else { return }
        journaled.removeAll(keepingCapacity: true)
        journaledSince = nil
        journaledPayloadsDropped = 0
        journal?.reset()
    }

    private func seal(_ payload: AuditPayload, cipher: PayloadCipher, tenantID: String, seq: Int64) throws -> SealedPayload {
        SealedPayload(
            keyID: cipher.keyID,
            request: try cipher.seal(payload.request, tenantID: tenantID, chainID: config.chainID, seq: seq, part: .request),
            response: try cipher.seal(payload.response, tenantID: tenantID, chainID: config.chainID, seq: seq, part: .response))
    }

    @discardableResult
    private mutating func appendToDatabase(_ entries: ArraySlice<SpoolEntry>, chainID: String? = nil, oneStatement: Bool = false) async throws -> AuditStore.Appended {
        let days = Set(entries.map { UTCDay.day(ofMicros: $0.record.receivedAt) }).subtracting(knownDays)
        let chainID = chainID ?? config.chainID
        let signer = writer.signer
        let every = config.checkpointEvery
        let oneStatementMaxBatch = oneStatement ? config.oneStatementMaxBatch : 0
        let pacing = config.copyPacing
        let appended = try await onDatabase(within: config.databaseTimeout, giveUpEarly: true) { store in
            if !days.isEmpty { try await store.ensurePartitions(days.sorted()) }
            return try await store.append(entries, chainID: chainID, signer: signer, checkpointEvery: every,
                                          oneStatementMaxBatch: oneStatementMaxBatch, pacing: pacing)
        }
        knownDays.formUnion(days)
        return appended
    }

    /// Replays the oldest spool segment; on success deletes it, and once the spool is empty
    /// new batches go straight to the database again.
    private mutating func replayOneSegment() async {
        guard await databaseAnswers() else {
            nextReplay = .now + config.replayRetryInterval
            return
        }
        spool.sealActive()
        guard let segment = spool.sealedSegments.first else { return }
        do {
            let entries = try spool.entries(of: segment)
            var index = 0
            while index < entries.count {
                // One chain per append (a spool written under an earlier chain id replays onto that chain).
                let chain = entries[index].record.chainID
                var end = index
                while end < entries.count, end - index < config.maxBatch, entries[end].record.chainID == chain { end += 1 }
                try await appendToDatabase(entries[index..<end], chainID: chain)
                index = end
            }
            spool.remove(segment, records: entries.count)
            writer.updateStats { $0.replayed += entries.count }
            if spool.isEmpty {
                databaseHealthy = true
                logger.notice("audit spool replayed; writing to the database again", metadata: ["chain_id": .string(config.chainID)])
            }
        } catch {
            knownDays.removeAll()
            nextReplay = .now + config.replayRetryInterval
            logger.debug("audit spool replay deferred", metadata: ["error": .string(Self.describe(error))])
        }
    }

    /// Asked before a replay. A pool that fails to answer is bypassed at once (when the
    /// configuration allows): the server may be back while the pool still waits out its backoff.
    private mutating func databaseAnswers() async -> Bool {
        let bypassedBefore = bypass?.active ?? false
        if (try? await onDatabase(within: config.probeTimeout) { try await $0.ping() }) != nil { return true }
        guard !bypassedBefore, bypass?.active == true else { return false }
        return (try? await onDatabase(within: config.probeTimeout) { try await $0.ping() }) != nil
    }

    private mutating func createPartitionsAhead() async {
        let today = UTCDay.day(ofMicros: Date().micros)
        let days = (today - 1)...(today + Int64(config.partitionDaysAhead))
        do {
            try await onDatabase(within: config.databaseTimeout) { try await $0.ensurePartitions(days) }
            knownDays.formUnion(days)
        } catch {
            nextMaintenance = .now + .seconds(10)
        }
    }

    /// Error text for logs: codes and server messages only, never row content.
    static func describe(_ error: any Error) -> String {
        if let e = error as? AirlockError { return e.description }
        if error is GivenUpError { return "database unreachable" }
        if error is TimeoutError { return "database timeout" }
        if let e = error as? PSQLError { return "\(e.code)" + (e.serverInfo?[.sqlState].map { " sqlstate=\($0)" } ?? "") }
        return String(describing: type(of: error))
    }
}

public struct TimeoutError: Error {}

/// `withTimeout(_:on:unless:_:)` gave up early: its check said waiting longer is pointless.
public struct GivenUpError: Error {}

/// Runs `operation`, abandoning it (cancelled, not awaited) after `timeout`. A task group
/// would wait for a cancelled child, and a query stuck on a dead connection may not notice
/// cancellation for a long time; an abandoned write is harmless because appends are
/// idempotent (they skip sequences at or below the committed head). Public for the gateway's
/// own database probes, which must never hold up shutdown either. The deadline is an
/// event-loop timer (`LoopTimer`), not a Dispatch one.
/// With `executor`, the operation and its deadline run on that executor's loop (an
/// unstructured task does not inherit the caller's executor preference).
/// With `unless` (a delay and a check), an operation still running after the delay has the
/// check run beside it, and is abandoned with `GivenUpError` when the check says so.
public func withTimeout<T: Sendable>(_ timeout: Duration, on executor: LoopTaskExecutor? = nil,
                                     unless check: (after: Duration, giveUp: @Sendable () async -> Bool)? = nil,
                                     _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
    let race = FirstResult<T>()
    let work = Task(executorPreference: executor) {
        do { race.finish(.success(try await operation())) } catch { race.finish(.failure(error)) }
    }
    let timer = LoopTimer.schedule(after: timeout, on: executor?.loop) {
        if race.finish(.failure(TimeoutError())) { work.cancel() }
    }
    let checkTimer = check.map { check in
        LoopTimer.schedule(after: check.after, on: executor?.loop) {
            Task(executorPreference: executor) {
                if await check.giveUp(), race.finish(.failure(GivenUpError())) { work.cancel() }
            }
        }
    }
    defer {
        timer.cancel()
        checkTimer?.cancel()
    }
    return try await withCheckedThrowingContinuation { race.install($0) }
}

/// The first of several results wins; the waiting continuation is resumed exactly once.
final class FirstResult<T: Sendable>: Sendable {
    private let state = LockedBox<(continuation: CheckedContinuation<T, any Error>?, result: Result<T, any Error>?)>((nil, nil))

    func install(_ c: CheckedContinuation<T, any Error>) {
        let ready = state.withLock { s -> Result<T, any Error>? in
            if let r = s.result { return r }
            s.continuation = c
            return nil
        }
        if let ready { c.resume(with: ready) }
    }

    /// Returns true when this result was the first.
    @discardableResult
    func finish(_ result: Result<T, any Error>) -> Bool {
        let (first, c) = state.withLock { s -> (Bool, CheckedContinuation<T, any Error>?) in
            guard s.result == nil else { return (false, nil) }
            s.result = result
            defer { s.continuation = nil }
            return (true, s.continuation)
        }
        c?.resume(with: result)
        return first
    }
}
