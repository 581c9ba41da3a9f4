import NIOCore
import PostgresNIO

/// The one-statement append, prepared once per connection: PostgreSQL then skips parsing and,
/// after a few runs, planning, which were 40% of its time for a batch of a few rows.
struct OneStatementAppend: PostgresPreparedStatement {
    typealias Row = (Int64, Int64)

    var chainID: String
    /// The head the batch continues.
    var expectedSeq: Int64
    var expectedHash: [UInt8]
    /// The rows, as `JSONRows`.
    var rows: String
    /// The new head.
    var lastSeq: Int64
    var lastHash: [UInt8]
    var mac: [UInt8]?

    static let name = "airlock_audit_append_v1"
    static let bindingDataTypes: [PostgresDataType] = [.text, .int8, .bytea, .text, .int8, .bytea, .bytea]
    /// $1 chain, $2/$3 the head the batch continues, $4 the rows, $5/$6/$7 the new head.
    static let sql: String = {
        let columns = AuditRecord.copyColumns.joined(separator: ", ")
        return """
            WITH head AS (
                SELECT 1 FROM audit_chains WHERE chain_id = $1 AND last_seq = $2 AND last_hash = $3 FOR UPDATE
            ), inserted AS (
                INSERT INTO audit_events (\(columns))
                SELECT \(columns) FROM json_populate_recordset(NULL::audit_events, $4::json)
                WHERE EXISTS (SELECT 1 FROM head)
                RETURNING 1
            ), moved AS (
                UPDATE audit_chains SET last_seq = $5, last_hash = $6, mac = $7, updated_at = now()
                WHERE chain_id = $1 AND EXISTS (SELECT 1 FROM head)
                RETURNING 1
            )
            SELECT (SELECT count(*) FROM inserted), (SELECT count(*) FROM moved)
            """
    }()

    func makeBindings() throws -> PostgresBindings {
        var b = PostgresBindings(capacity: 7)
        b.append(chainID)
        b.append(expectedSeq)
        b.append(ByteBuffer(bytes: expectedHash))
        b.append(rows)
        b.append(lastSeq)
        b.append(ByteBuffer(bytes: lastHash))
        b.append(mac.map { ByteBuffer(bytes: $0) })
        return b
    }

    func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Row.self) }
}
