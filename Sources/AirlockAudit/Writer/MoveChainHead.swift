import NIOCore
import PostgresNIO

/// The COPY transaction's first statement when the batch continues the head: moves the head
/// only if it is exactly where the batch's first entry says it is, which locks the row like
/// `SELECT … FOR UPDATE` would and saves that round trip (the transaction then needs no head
/// update after the COPY). Prepared once per connection. No row back means the head is missing,
/// behind a replay, or another writer's: the transaction goes on with the general path.
struct MoveChainHead: PostgresPreparedStatement {
    typealias Row = Int64

    var chainID: String
    /// The head the batch continues.
    var expectedSeq: Int64
    var expectedHash: [UInt8]
    /// The new head.
    var lastSeq: Int64
    var lastHash: [UInt8]
    var mac: [UInt8]?

    static let name = "airlock_audit_move_head_v1"
    static let bindingDataTypes: [PostgresDataType] = [.text, .int8, .bytea, .int8, .bytea, .bytea]
    static let sql = """
        UPDATE audit_chains SET last_seq = $4, last_hash = $5, mac = $6, updated_at = now()
        WHERE chain_id = $1 AND last_seq = $2 AND last_hash = $3
        RETURNING last_seq
        """

    func makeBindings() throws -> PostgresBindings {
        var b = PostgresBindings(capacity: 6)
        b.append(chainID)
        b.append(expectedSeq)
        b.append(ByteBuffer(bytes: expectedHash))
        b.append(lastSeq)
        b.append(ByteBuffer(bytes: lastHash))
        b.append(mac.map { ByteBuffer(bytes: $0) })
        return b
    }

    func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Row.self) }
}
