import AirlockCore
import Logging
import NIOCore
import PostgresNIO

/// The writer's database operations: day partitions, and appending a batch of sealed events
/// to a chain in one transaction that moves the chain head.
struct AuditStore: Sendable {
    /// Where statements go: a pool, or one connection of the caller's (the writer's own while
    /// its pool waits out a reconnect backoff; see `PoolBypass`).
    enum Route: Sendable {
        case pool(PostgresClient)
        case connection(PostgresConnection)
    }

    let route: Route
    let logger: Logger

    init(client: PostgresClient, logger: Logger) {
        route = .pool(client)
        self.logger = logger
    }

    init(connection: PostgresConnection, logger: Logger) {
        route = .connection(connection)
        self.logger = logger
    }

    private func query(_ query: PostgresQuery) async throws -> PostgresRowSequence {
        switch route {
        case .pool(let client): try await client.query(query, logger: logger)
        case .connection(let connection): try await connection.query(query, logger: logger)
        }
    }

    private func withConnection<Result>(_ body: (PostgresConnection) async throws -> Result) async throws -> Result {
        switch route {
        case .pool(let client): try await client.withConnection(body)
        case .connection(let connection): try await body(connection)
        }
    }

    /// Creates the day partitions for `days` (days since 1970-01-01, UTC) when missing.
    func ensurePartitions(_ days: some Sequence<Int64>) async throws {
        for day in days {
            let sql = AuditPartition.createSQL(day)
            do {
                _ = try await query(PostgresQuery(unsafeSQL: sql))
            } catch let error as PSQLError where error.serverInfo?[.sqlState] == "42P07" || error.serverInfo?[.sqlState] == "23505" {
                continue  // another instance created it at the same moment
            }
        }
    }

    struct Head: Sendable, Equatable {
        var seq: Int64
        var hash: [UInt8]
    }

    /// Cheapest round trip that proves a pooled connection works.
    func ping() async throws {
        for try await _ in try await query("SELECT 1") {}
    }

    func head(chainID: String) async throws -> Head? {
        let rows = try await query("SELECT last_seq, last_hash FROM audit_chains WHERE chain_id = \(chainID)")
        for try await (seq, hash) in rows.decode((Int64, ByteBuffer).self) {
            return Head(seq: seq, hash: Array(buffer: hash))
        }
        return nil
    }

    /// What `append` did.
    struct Appended: Sendable, Equatable {
        /// Rows inserted (entries at or below the committed head are skipped).
        var rows: Int
        var path: Path

        /// How the batch was written.
        enum Path: Sendable, Equatable {
            /// `appendInOneStatement`: one round trip.
            case oneStatement
            /// The COPY transaction, head moved by its first statement (five round trips).
            case movedHeadFirst
            /// The COPY transaction after locking (or creating) the head (six round trips).
            case lockedHead
        }
    }

    /// Appends the entries of one chain (ascending, contiguous seq). Entries at or below the
    /// committed head are skipped, which makes spool replay after an uncertain commit exact.
    ///
    /// A batch of at most `oneStatementMaxBatch` entries (the writer passes 0 unless a
    /// fail-closed caller waits on it) that continues the head, with no captured bodies and no
    /// checkpoint due, is written by one statement (`appendInOneStatement`); anything else, or a
    /// head that is not where the batch expects it, goes through the transaction below.
    @discardableResult
    func append(_ entries: ArraySlice<SpoolEntry>, chainID: String, signer: ChainSigner?, checkpointEvery: Int64,
                oneStatementMaxBatch: Int = AuditWriterConfiguration.defaultOneStatementMaxBatch,
                pacing: CopyPacing = .none) async throws -> Appended {
        guard !entries.isEmpty else { return Appended(rows: 0, path: .lockedHead) }
        let checkpointDue = signer != nil && checkpointEvery > 0 && entries.contains { $0.record.seq % checkpointEvery == 0 }
        if entries.count <= oneStatementMaxBatch, !checkpointDue, entries.allSatisfy({ $0.payload == nil }),
           let rows = try await appendInOneStatement(entries, chainID: chainID, signer: signer) {
            return Appended(rows: rows, path: .oneStatement)
        }
        let (rows, path) = try await appendInTransactionReportingPath(entries, chainID: chainID, signer: signer, checkpointEvery: checkpointEvery,
                                                                      pacing: pacing)
        return Appended(rows: rows, path: path)
    }

    /// Inserts the batch and moves the chain head in a single statement (one round trip, its
    /// own implicit transaction), provided the head is exactly where the batch's first entry
    /// says it is: locked, checked, rows inserted, head moved, or nothing at all. Returns nil
    /// when the head was elsewhere or missing (the caller then takes the general path, which
    /// creates a missing head, skips entries already committed, or reports another writer).
    func appendInOneStatement(_ entries: ArraySlice<SpoolEntry>, chainID: String, signer: ChainSigner?) async throws -> Int? {
        guard let first = entries.first?.record, let last = entries.last?.record else { return 0 }
        var rows = JSONRows(reservingRows: entries.count)
        for entry in entries { rows.append(entry.record) }
        let statement = OneStatementAppend(
            chainID: chainID, expectedSeq: first.seq - 1, expectedHash: first.prevHash, rows: String(decoding: rows.finish(), as: UTF8.self),
            lastSeq: last.seq, lastHash: last.hash, mac: signer?.headMAC(chainID: chainID, seq: last.seq, hash: last.hash))
        let results = switch route {
        case .pool(let client): try await client.execute(statement, logger: logger)
        case .connection(let connection): try await connection.execute(statement, logger: logger)
        }
        for try await (inserted, moved) in results {
            if inserted == 0 && moved == 0 { return nil }
            guard inserted == Int64(entries.count), moved == 1 else {
                // Cannot happen (both depend on the same locked head); never report success on it.
                throw AirlockError(.auditUnavailable, "audit chain '\(chainID)': one-statement append inserted \(inserted) of \(entries.count) rows")
            }
            return entries.count
        }
        return nil
    }

    /// The general path, one transaction: BEGIN, move the head if the batch continues it
    /// (`MoveChainHead`), else lock or create it and skip what is committed, COPY, move the head
    /// if not yet moved, checkpoints, COMMIT. A continuing batch takes five round trips, the
    /// others six.
    func appendInTransaction(_ entries: ArraySlice<SpoolEntry>, chainID: String, signer: ChainSigner?, checkpointEvery: Int64) async throws -> Int {
        try await appendInTransactionReportingPath(entries, chainID: chainID, signer: signer, checkpointEvery: checkpointEvery).rows
    }

    func appendInTransactionReportingPath(_ entries: ArraySlice<SpoolEntry>, chainID: String, signer: ChainSigner?,
                                          checkpointEvery: Int64, pacing: CopyPacing = .none) async throws -> (rows: Int, path: Appended.Path) {
        guard let batchFirst = entries.first?.record, let batchLast = entries.last?.record else { return (0, .lockedHead) }
        return try await withConnection { conn in
            _ = try await conn.query("BEGIN", logger: logger)
            do {
                let move = MoveChainHead(
                    chainID: chainID, expectedSeq: batchFirst.seq - 1, expectedHash: batchFirst.prevHash,
                    lastSeq: batchLast.seq, lastHash: batchLast.hash,
                    mac: signer?.headMAC(chainID: chainID, seq: batchLast.seq, hash: batchLast.hash))
                var moved = false
                for try await _ in try await conn.execute(move, logger: logger) { moved = true }
                let todo: ArraySlice<SpoolEntry>
                if moved {
                    todo = entries
                } else {
                    var head: Head?
                    for try await (seq, hash) in try await conn.query(
                        "SELECT last_seq, last_hash FROM audit_chains WHERE chain_id = \(chainID) FOR UPDATE", logger: logger
                    ).decode((Int64, ByteBuffer).self) {
                        head = Head(seq: seq, hash: Array(buffer: hash))
                    }
                    if head == nil {
                        let zero = ByteBuffer(bytes: AuditRecord.zeroHash)
                        _ = try await conn.query("INSERT INTO audit_chains (chain_id, last_seq, last_hash) VALUES (\(chainID), 0, \(zero))", logger: logger)
                        head = Head(seq: 0, hash: AuditRecord.zeroHash)
                    }
                    todo = entries.drop { $0.record.seq <= head!.seq }
                    guard let first = todo.first else {
                        _ = try await conn.query("ROLLBACK", logger: logger)
                        return (0, .lockedHead)
                    }
                    guard first.record.seq == head!.seq + 1, first.record.prevHash == head!.hash else {
                        throw AirlockError(.auditUnavailable, "audit chain '\(chainID)' head in the database (seq \(head!.seq)) does not precede this batch (seq \(first.record.seq)); is another instance using the same chain id?")
                    }
                }
                try await conn.copyFrom(table: "audit_events", columns: AuditRecord.copyColumns, logger: logger) { writer in
                    // Sized to the batch (a personal-data row is ~2.4 KB): reserving the 1 MiB
                    // limit for every batch had each small one map and fault in fresh memory.
                    var out: [UInt8] = []
                    out.reserveCapacity(Swift.min(1 << 20, todo.count * 3072))
                    let chunk = pacing.chunk(forBatchOf: todo.count)
                    var rowsInChunk = 0
                    for entry in todo {
                        if let chunk, rowsInChunk == chunk {
                            try await writer.write(ByteBuffer(bytes: out))
                            out.removeAll(keepingCapacity: true)
                            rowsInChunk = 0
                            // On the writer's event loop, a loop timer: `Task.sleep` went
                            // through Dispatch, waking two of its threads per pause (BENCHMARKS).
                            try await LoopTimer.sleep(for: pacing.pause)
                        }
                        entry.record.appendCopyRow(to: &out)
                        rowsInChunk += 1
                        if out.count >= 1 << 20 {
                            try await writer.write(ByteBuffer(bytes: out))
                            out.removeAll(keepingCapacity: true)
                        }
                    }
                    if !out.isEmpty { try await writer.write(ByteBuffer(bytes: out)) }
                }
                if todo.contains(where: { $0.payload != nil }) {
                    try await conn.copyFrom(table: "audit_payloads", columns: SpoolEntry.payloadCopyColumns, logger: logger) { writer in
                        var out: [UInt8] = []
                        for entry in todo where entry.payload != nil { entry.appendPayloadCopyRow(to: &out) }
                        try await writer.write(ByteBuffer(bytes: out))
                    }
                }
                if !moved {
                    let lastHash = ByteBuffer(bytes: batchLast.hash)
                    let mac = move.mac.map { ByteBuffer(bytes: $0) }
                    _ = try await conn.query(
                        "UPDATE audit_chains SET last_seq = \(batchLast.seq), last_hash = \(lastHash), mac = \(mac), updated_at = now() WHERE chain_id = \(chainID)",
                        logger: logger)
                }
                // Periodic signed anchors: verification of a range can start from one.
                if let signer, checkpointEvery > 0 {
                    for anchor in todo where anchor.record.seq % checkpointEvery == 0 {
                        let cmac = ByteBuffer(bytes: signer.checkpointMAC(chainID: chainID, seq: anchor.record.seq, fromSeq: nil, hash: anchor.record.hash))
                        let chash = ByteBuffer(bytes: anchor.record.hash)
                        _ = try await conn.query("""
                            INSERT INTO audit_checkpoints (chain_id, seq, from_seq, hash, reason, mac)
                            VALUES (\(chainID), \(anchor.record.seq), NULL, \(chash), 'writer', \(cmac)) ON CONFLICT DO NOTHING
                            """, logger: logger)
                    }
                }
                _ = try await conn.query("COMMIT", logger: logger)
                return (todo.count, moved ? .movedHeadFirst : .lockedHead)
            } catch {
                _ = try? await conn.query("ROLLBACK", logger: logger)
                throw error
            }
        }
    }
}

/// Day partitions of audit_events: `audit_events_pYYYYMMDD`, UTC.
public enum AuditPartition {
    static let prefix = "audit_events_p"
    static func name(_ day: Int64) -> String { prefix + UTCDay.compact(day) }

    /// Creates the partition for `day` when missing. `toast_tuple_target` at its maximum keeps
    /// rows up to 8 KB in the table itself: a personal-data call's row (~2.4 KB, mostly its 64-hex
    /// fingerprints) went through a failed compression attempt and then out to the TOAST table,
    /// one more heap row and index entry per event; kept inline, inserting such rows took ~25%
    /// less of PostgreSQL's time.
    public static func createSQL(_ day: Int64) -> String {
        "CREATE TABLE IF NOT EXISTS \(name(day)) PARTITION OF audit_events FOR VALUES FROM ('\(UTCDay.iso(day)) 00:00:00+00') TO ('\(UTCDay.iso(day + 1)) 00:00:00+00') WITH (toast_tuple_target = 8160)"
    }
    static func day(fromName name: String) -> Int64? {
        guard name.hasPrefix(prefix) else { return nil }
        return UTCDay.parseCompact(name.dropFirst(prefix.count))
    }
}
