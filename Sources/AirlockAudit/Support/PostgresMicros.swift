import PostgresNIO

/// A timestamptz read as PostgreSQL's exact integer microseconds (rebased to the Unix
/// epoch) rather than a floating-point Date, so recomputed hashes match bit for bit.
struct PostgresMicros: PostgresDecodable {
    static let unixToPostgresEpoch: Int64 = 946_684_800_000_000
    let value: Int64

    init<JSONDecoder: PostgresJSONDecoder>(from buffer: inout ByteBuffer, type: PostgresDataType, format: PostgresFormat,
                                           context: PostgresDecodingContext<JSONDecoder>) throws {
        guard format == .binary, type == .timestamptz || type == .timestamp, let raw = buffer.readInteger(as: Int64.self) else {
            throw PostgresDecodingError.Code.typeMismatch
        }
        value = raw + PostgresMicros.unixToPostgresEpoch
    }
}
