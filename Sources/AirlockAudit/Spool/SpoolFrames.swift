import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The on-disk framing shared by the spool and the journal.
///
/// Frame: "ALS1" | body length (u32 BE) | CRC-32C of body (u32 BE) | body (a `SpoolEntry`).
/// Reading stops at the first frame that is torn or fails its checksum.
enum SpoolFrames {
    static let magic: [UInt8] = Array("ALS1".utf8)

    static func encode(_ entries: [SpoolEntry]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(entries.count * 512)
        var body: [UInt8] = []
        for entry in entries {
            body.removeAll(keepingCapacity: true)
            entry.encode(into: &body)
            bytes.append(contentsOf: magic)
            withUnsafeBytes(of: UInt32(body.count).bigEndian) { bytes.append(contentsOf: $0) }
            withUnsafeBytes(of: CRC32C.checksum(body).bigEndian) { bytes.append(contentsOf: $0) }
            bytes.append(contentsOf: body)
        }
        return bytes
    }

    /// The entries of the intact leading frames, and how many bytes they span.
    static func decode(_ bytes: [UInt8]) -> (entries: [SpoolEntry], validBytes: Int) {
        var entries: [SpoolEntry] = []
        var offset = 0
        while bytes.count - offset >= 12 {
            guard bytes[offset..<offset + 4].elementsEqual(magic) else { break }
            let length = bytes[offset + 4..<offset + 8].reduce(0) { $0 << 8 | Int($1) }
            let crc = bytes[offset + 8..<offset + 12].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            guard offset + 12 + length <= bytes.count else { break }
            let body = bytes[offset + 12..<offset + 12 + length]
            guard CRC32C.checksum(body) == crc, let entry = try? SpoolEntry.decode(body) else { break }
            entries.append(entry)
            offset += 12 + length
        }
        return (entries, offset)
    }

    /// Writes all of `bytes` to `fd`, retrying short writes and EINTR.
    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { raw -> Bool in
            var offset = 0
            while offset < raw.count {
                let n = write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 { if errno == EINTR { continue }; return false }
                offset += n
            }
            return true
        }
    }
}
