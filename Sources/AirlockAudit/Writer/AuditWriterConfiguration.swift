import Crypto
import Foundation
import PostgresNIO

public struct AuditWriterConfiguration: Sendable {
    /// This instance's hash chain. Must be unique per running gateway instance (two writers
    /// on one chain id are detected and refused; their events stay in the spool).
    public var chainID: String
    /// Folder for the durable spool (local disk, not shared between instances).
    public var spoolDirectory: String
    /// HMAC key for chain heads and checkpoints; without it nothing is signed.
    public var checkpointKey: AuditKey?
    /// AES-256-GCM key for captured bodies; without it payloads are dropped (counted).
    public var payloadKey: AuditKey?
    /// Largest batch per COPY.
    public var maxBatch: Int = 5_000
    /// A batch that a fail-closed caller waits on (`recordDurably`), up to this size, is
    /// written by one statement (one round trip) instead of a COPY in a five-round-trip
    /// transaction; 0 turns that off. Batches nobody waits on, and larger ones, are COPYed.
    public var oneStatementMaxBatch: Int = Self.defaultOneStatementMaxBatch
    public static let defaultOneStatementMaxBatch = 64
    /// An event waits at most this long in memory for others to share its database
    /// transaction, so a busy gateway writes batches instead of one transaction per call
    /// (fail-closed callers waiting on the write are not made to wait). 10 ms since the
    /// twenty-third session: with the COPY paced, half as many transactions per call cost
    /// less CPU without the longer batch holding up a call (BENCHMARKS).
    public var batchLinger: Duration = Self.defaultBatchLinger
    public static let defaultBatchLinger: Duration = .milliseconds(10)
    /// The write-ahead journal (`AuditJournal`): events nobody waits on are sealed and
    /// appended to a journal file (no fsync) after `journalLinger`, and reach PostgreSQL in
    /// one transaction once the oldest has waited `batchLinger`. A killed process loses
    /// only what was not journaled yet, so `batchLinger` can be long. Off unless asked for:
    /// the gateway turns it on.
    public var journal = false
    /// With the journal: how long an event waits in memory for others to share its journal write.
    public var journalLinger: Duration = .milliseconds(1)
    /// How the rows of a small batch are paced into its COPY (see `CopyPacing`). Off unless
    /// asked for: the gateway, which shares CPUs with PostgreSQL and its providers, sets
    /// `.standard`. Elsewhere (tests, tools) each pause is one more point where a busy
    /// machine can hold a batch up, and on a loaded CI machine batches of 50 paced rows ran
    /// past the write deadline.
    public var copyPacing: CopyPacing = .none
    /// A writer on an idle-policy thread is given the normal policy once this many events are
    /// queued, or the oldest has waited this long: it has fallen behind busy request threads.
    /// The age is short on purpose: when requests keep the CPU busy the idle writer runs only
    /// when boosted, and at 50 ms each boosted batch was big enough to hold up the one or two
    /// calls that met it by 1–2 ms (personal-data p99 1.7–1.9 ms vs 0.74–0.81 at 10 ms in the
    /// lab; BENCHMARKS, fourteenth session).
    public var boostQueueDepth: Int = 256
    public var boostQueueAge: Duration = .milliseconds(10)
    /// A writer boosted for falling behind writes batches of at most this many events, going
    /// back to the idle policy after each (fail-closed callers waiting get whole batches).
    public var boostedBatch: Int = 16
    /// A database write slower than this sends the batch to the spool instead.
    public var databaseTimeout: Duration = .seconds(3)
    /// A database write still unfinished after `suspectAfter` has the server checked with
    /// `serverGone` (a fresh connection, outside the pool): when that says the server is
    /// gone, the write is abandoned and the batch spooled at once. Without it the first batch
    /// after PostgreSQL died sat out the whole `databaseTimeout`, a fail-closed caller with it
    /// (the pool waits for its own reconnects instead of failing the query). Asked at most
    /// once a second while the server is there. Nil: no check.
    public var serverGone: (@Sendable () async -> Bool)?
    public var suspectAfter: Duration = .milliseconds(100)
    /// Opens a connection outside the writer's pool (the writer closes it). The pool retries a
    /// lost server on a backoff growing to 60 s: after a long outage it may reconnect long
    /// after PostgreSQL is back. Once a pool operation fails for want of a connection, the
    /// writer replays its spool and writes over such a connection until the pool answers again
    /// (`PoolBypass`). It should give up within about a second when the server is gone. Nil:
    /// the pool only.
    public var openConnection: (@Sendable () async throws -> PostgresConnection)?
    /// Pause between attempts to replay the spool while the database is unavailable.
    public var replayRetryInterval: Duration = .seconds(1)
    /// Before a replay attempt the database is asked `SELECT 1` with this deadline: while it
    /// is down the loop must not sit in a long write timeout, because events that arrive
    /// meanwhile wait in memory instead of in the fsync'd spool (and SIGKILL would lose them).
    public var probeTimeout: Duration = .milliseconds(250)
    /// How long `recordDurably` may wait while the chain head is still unknown (database
    /// down at startup with an empty spool) before failing.
    public var durableTimeout: Duration = .seconds(5)
    /// A signed checkpoint every this many events of the chain.
    public var checkpointEvery: Int64 = 10_000
    /// Day partitions created ahead of time.
    public var partitionDaysAhead: Int = 2

    public init(chainID: String, spoolDirectory: String, checkpointKey: AuditKey? = nil, payloadKey: AuditKey? = nil) {
        self.chainID = chainID
        self.spoolDirectory = spoolDirectory
        self.checkpointKey = checkpointKey
        self.payloadKey = payloadKey
    }

    /// A chain id for this host when the configuration names none. It must stay the same
    /// across restarts (the spool replays onto it) and differ between instances sharing a
    /// database: set `audit.chain_id` when several instances run on one host.
    public static func defaultChainID() -> String {
        let host = ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "host"
        return "gw-\(host)"
    }
}

/// Counters for metrics and tests (no event content).
public struct AuditWriterStats: Sendable, Equatable {
    /// Events accepted by `record`/`recordDurably`.
    public var accepted: Int = 0
    /// Events committed to PostgreSQL directly.
    public var written: Int = 0
    /// Database transactions that committed those events.
    public var batches: Int = 0
    /// Of those, the ones written by a single statement (one round trip; a fail-closed caller waited).
    public var oneStatementBatches: Int = 0
    /// Events appended to the spool.
    public var spooled: Int = 0
    /// Events in the write-ahead journal waiting for their database transaction.
    public var journaled: Int = 0
    /// Spooled events committed to PostgreSQL on replay.
    public var replayed: Int = 0
    /// Events neither the database nor the spool could take (the caller was told).
    public var failed: Int = 0
    /// Captured bodies dropped because no payload key is configured.
    public var payloadsDropped: Int = 0
    public var queueDepth: Int = 0
    public var spoolPending: Int = 0
    public var databaseHealthy: Bool = true
    /// The last spool append failed (disk full, I/O error); cleared by the next success.
    public var spoolFailing: Bool = false
    /// The writer works over a connection of its own while its pool reconnects (`PoolBypass`).
    public var poolBypassed: Bool = false
    public var lastSeq: Int64 = 0
    public init() {}
}
