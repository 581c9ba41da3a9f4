import Foundation
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A swift-log handler that writes one JSON object per line:
/// `{"timestamp":…,"level":…,"label":…,"message":…,"source":…,<metadata…>}`.
/// Metadata keys (e.g. `request_id`) are top-level fields; a key that collides with a fixed
/// field is written as `meta.<key>`. Nested metadata becomes JSON arrays/objects.
///
/// Each line is assembled in memory and written with one `write(2)` under a lock, so lines
/// from concurrent tasks never interleave.
public struct JSONLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    let label: String
    let sink: Sink

    /// Where lines go: a file descriptor (stderr by default) or, in tests, a closure.
    public struct Sink: Sendable {
        let write: @Sendable ([UInt8]) -> Void

        public static let standardError = Sink { bytes in
            JSONLogHandler.lock.withLock { _ in writeAll(fd: 2, bytes) }
        }

        public init(_ write: @escaping @Sendable ([UInt8]) -> Void) { self.write = write }
    }

    static let lock = Mutex(())

    public init(label: String, sink: Sink = .standardError, metadataProvider: Logger.MetadataProvider? = LoggingSystem.metadataProvider) {
        self.label = label
        self.sink = sink
        self.metadataProvider = metadataProvider
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        // An attached error is named by type only: descriptions can quote what a provider
        // or the database sent back, i.e. user data.
        if let error = event.error { merged["error_type"] = .string(String(describing: type(of: error))) }
        let line = Self.line(timestamp: Date(), level: event.level, label: label, message: event.message.description,
                             source: event.source, metadata: merged)
        sink.write(line)
    }

    static let reserved: Set<String> = ["timestamp", "level", "label", "message", "source"]

    /// One log line, newline-terminated.
    static func line(timestamp: Date, level: Logger.Level, label: String, message: String, source: String,
                     metadata: Logger.Metadata) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(160 + message.utf8.count)
        out.append(UInt8(ascii: "{"))
        field(&out, "timestamp", first: true); string(&out, timestampText(timestamp))
        field(&out, "level"); string(&out, level.rawValue)
        field(&out, "label"); string(&out, label)
        field(&out, "message"); string(&out, message)
        field(&out, "source"); string(&out, source)
        for key in metadata.keys.sorted() {
            field(&out, reserved.contains(key) ? "meta." + key : key)
            value(&out, metadata[key]!)
        }
        out.append(contentsOf: "}\n".utf8)
        return out
    }

    static func field(_ out: inout [UInt8], _ name: String, first: Bool = false) {
        if !first { out.append(UInt8(ascii: ",")) }
        string(&out, name)
        out.append(UInt8(ascii: ":"))
    }

    static func value(_ out: inout [UInt8], _ v: Logger.Metadata.Value) {
        switch v {
        case .string(let s): string(&out, s)
        case .stringConvertible(let c): string(&out, c.description)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                value(&out, item)
            }
            out.append(UInt8(ascii: "]"))
        case .dictionary(let dict):
            out.append(UInt8(ascii: "{"))
            for (i, key) in dict.keys.sorted().enumerated() {
                field(&out, key, first: i == 0)
                value(&out, dict[key]!)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// A JSON string literal: quotes, backslashes and control characters escaped; other
    /// UTF-8 passes through unchanged.
    static func string(_ out: inout [UInt8], _ s: String) {
        out.append(UInt8(ascii: "\""))
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "\""): out.append(contentsOf: #"\""#.utf8)
            case UInt8(ascii: "\\"): out.append(contentsOf: #"\\"#.utf8)
            case UInt8(ascii: "\n"): out.append(contentsOf: #"\n"#.utf8)
            case UInt8(ascii: "\r"): out.append(contentsOf: #"\r"#.utf8)
            case UInt8(ascii: "\t"): out.append(contentsOf: #"\t"#.utf8)
            case 0..<0x20, 0x7F:
                let hex = Array("0123456789abcdef".utf8)
                out.append(contentsOf: #"\u00"#.utf8)
                out.append(hex[Int(b >> 4)])
                out.append(hex[Int(b & 0xF)])
            default: out.append(b)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    /// RFC 3339 UTC with milliseconds, e.g. `2025-01-31T12:34:56.789Z`.
    static func timestampText(_ date: Date) -> String {
        let ms = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        var seconds = time_t(ms / 1000)
        var tm = tm()
        gmtime_r(&seconds, &tm)
        func pad(_ v: Int32, _ w: Int) -> String { let s = String(v); return String(repeating: "0", count: max(0, w - s.count)) + s }
        let millis = Int32(ms % 1000)
        return "\(pad(tm.tm_year + 1900, 4))-\(pad(tm.tm_mon + 1, 2))-\(pad(tm.tm_mday, 2))T\(pad(tm.tm_hour, 2)):\(pad(tm.tm_min, 2)):\(pad(tm.tm_sec, 2)).\(pad(millis, 3))Z"
    }
}

/// Writes all of `bytes` to `fd`, retrying short writes and EINTR; gives up on other errors
/// (a logger has nowhere to report its own failure).
func writeAll(fd: Int32, _ bytes: [UInt8]) {
    bytes.withUnsafeBytes { raw in
        guard let base = raw.baseAddress else { return }
        var offset = 0
        while offset < raw.count {
            #if canImport(Darwin)
            let n = Darwin.write(fd, base + offset, raw.count - offset)
            #else
            let n = Glibc.write(fd, base + offset, raw.count - offset)
            #endif
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return }
            offset += n
        }
    }
}
