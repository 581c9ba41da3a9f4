/// Calendar arithmetic in UTC on integer microseconds, without Foundation calendars on the
/// hot path: partitions are UTC days and COPY needs timestamps as text.
enum UTCDay {
    static let microsPerDay: Int64 = 86_400_000_000

    /// Days since 1970-01-01 for a Unix-epoch microsecond timestamp.
    static func day(ofMicros micros: Int64) -> Int64 {
        micros >= 0 ? micros / microsPerDay : (micros - microsPerDay + 1) / microsPerDay
    }

    /// (year, month, day) for days since 1970-01-01 (H. Hinnant's civil_from_days).
    static func civil(_ days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? y + 1 : y, m, d)
    }

    /// Days since 1970-01-01 for a civil date.
    static func days(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = month > 2 ? month - 3 : month + 9
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// `YYYYMMDD`, used in partition names.
    static func compact(_ days: Int64) -> String {
        let c = civil(days)
        return String(format: "%04d%02d%02d", Int(c.year), Int(c.month), Int(c.day))
    }

    /// `YYYY-MM-DD`.
    static func iso(_ days: Int64) -> String {
        let c = civil(days)
        return String(format: "%04d-%02d-%02d", Int(c.year), Int(c.month), Int(c.day))
    }

    static func parseCompact(_ s: Substring) -> Int64? {
        guard s.count == 8, let v = Int64(s) else { return nil }
        return days(year: v / 10000, month: (v / 100) % 100, day: v % 100)
    }

    /// Appends `YYYY-MM-DD HH:MM:SS.ffffff+00` (PostgreSQL timestamptz input) to `out`.
    static func appendTimestamp(_ micros: Int64, to out: inout [UInt8]) {
        let d = day(ofMicros: micros)
        let rem = micros - d * microsPerDay
        let c = civil(d)
        // Digits written in place: an array per component was seven allocations a timestamp,
        // three timestamps an audit row.
        func pad(_ v: Int64, _ width: Int) {
            let start = out.count
            out.append(contentsOf: repeatElement(UInt8(0x30), count: width))
            var x = v
            var i = start + width - 1
            while i >= start { out[i] = 0x30 + UInt8(x % 10); x /= 10; i -= 1 }
        }
        pad(c.year, 4); out.append(0x2D); pad(c.month, 2); out.append(0x2D); pad(c.day, 2); out.append(0x20)
        let secs = rem / 1_000_000
        pad(secs / 3600, 2); out.append(0x3A); pad((secs / 60) % 60, 2); out.append(0x3A); pad(secs % 60, 2)
        out.append(0x2E); pad(rem % 1_000_000, 6)
        out.append(contentsOf: "+00".utf8)
    }
}
