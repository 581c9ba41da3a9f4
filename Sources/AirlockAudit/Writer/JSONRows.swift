/// Audit rows as one JSON array of objects keyed by column name, read back in PostgreSQL by
/// `json_populate_recordset(NULL::audit_events, …)`. This lets a small batch travel as one
/// bind parameter of a single statement (see `AuditStore.appendInOneStatement`) instead of
/// a COPY inside a multi-statement transaction. Values are written so that each column's
/// input function reads exactly what COPY text would have given it: the stored row must hash
/// to what was chained.
struct JSONRows: AuditRowSink {
    private(set) var out: [UInt8] = [UInt8(ascii: "[")]
    private var column = 0
    private var rows = 0

    /// `"tenant_id":` and so on, made once.
    private static let keys: [[UInt8]] = AuditRecord.copyColumns.map { Array("\"\($0)\":".utf8) }

    init(reservingRows count: Int = 0) {
        out.reserveCapacity(64 + count * 1_600)
    }

    mutating func append(_ record: AuditRecord) {
        if rows > 0 { out.append(UInt8(ascii: ",")) }
        out.append(UInt8(ascii: "{"))
        column = 0
        record.writeColumns(to: &self)
        out.append(UInt8(ascii: "}"))
        rows += 1
    }

    /// The finished array's bytes.
    mutating func finish() -> [UInt8] {
        out.append(UInt8(ascii: "]"))
        return out
    }

    private mutating func key() {
        if column > 0 { out.append(UInt8(ascii: ",")) }
        out.append(contentsOf: Self.keys[column])
        column += 1
    }

    private mutating func null() { out.append(contentsOf: "null".utf8) }

    /// A JSON string. NUL is dropped, as in COPY text: PostgreSQL text cannot hold it (and
    /// records are already sealed without it).
    private mutating func string(_ bytes: some Sequence<UInt8>) {
        out.append(0x22)
        for b in bytes {
            switch b {
            case 0x22: out.append(0x5C); out.append(0x22)
            case 0x5C: out.append(0x5C); out.append(0x5C)
            case 0x00: continue
            case 0x01..<0x20:
                out.append(contentsOf: "\\u00".utf8)
                out.append(Hex.digits[Int(b >> 4)]); out.append(Hex.digits[Int(b & 0xF)])
            default: out.append(b)
            }
        }
        out.append(0x22)
    }

    mutating func text(_ s: String?) {
        key()
        guard let s else { return null() }
        string(s.utf8)
    }

    mutating func int(_ v: Int64?) {
        key()
        guard let v else { return null() }
        out.append(contentsOf: String(v).utf8)
    }

    /// Finite values as numbers in Swift's shortest round-trip form (float8in reads it
    /// exactly); `inf`/`nan`, which JSON has no number for, as strings float8in also reads.
    mutating func double(_ v: Double?) {
        key()
        guard let v else { return null() }
        if v.isFinite {
            out.append(contentsOf: "\(v)".utf8)
        } else {
            string("\(v)".utf8)
        }
    }

    mutating func timestamp(_ micros: Int64?) {
        key()
        guard let micros else { return null() }
        out.append(0x22)
        UTCDay.appendTimestamp(micros, to: &out)
        out.append(0x22)
    }

    /// bytea's hex input form, `\x…`, with the backslash escaped for JSON.
    mutating func bytea(_ bytes: [UInt8]?) {
        key()
        guard let bytes else { return null() }
        out.append(0x22); out.append(0x5C); out.append(0x5C); out.append(UInt8(ascii: "x"))
        Hex.append(bytes, to: &out)
        out.append(0x22)
    }

    mutating func textArray(_ items: [String]) {
        key()
        out.append(UInt8(ascii: "["))
        for (i, item) in items.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            string(item.utf8)
        }
        out.append(UInt8(ascii: "]"))
    }

    mutating func intArray(_ items: [Int64]) {
        key()
        out.appendIntegerList(items, open: UInt8(ascii: "["), close: UInt8(ascii: "]"))
    }
}
