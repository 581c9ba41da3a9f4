import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Random identifiers for every call (request ids, audit event ids) from the kernel's CSPRNG,
/// fetched 4 KB at a time. Foundation's `UUID()` opens, reads and closes `/dev/urandom` on
/// Linux and `SystemRandomNumberGenerator` makes one `getrandom` call per 8 bytes: five system
/// calls on each request's critical path that one refill per 256 identifiers replaces. Every
/// byte is handed out once.
public final class RandomPool: Sendable {
    public static let shared = RandomPool()

    private static let capacity = 4096
    private let state: Mutex<Buffer>

    private struct Buffer: ~Copyable {
        var bytes: UnsafeMutableRawBufferPointer
        var used: Int
        deinit { bytes.deallocate() }
    }

    public init() {
        state = Mutex(Buffer(bytes: .allocate(byteCount: Self.capacity, alignment: 16), used: Self.capacity))
    }

    /// 16 fresh random bytes as two words.
    public func next128() -> (UInt64, UInt64) {
        state.withLock { buffer in
            if buffer.used + 16 > Self.capacity {
                Self.fill(buffer.bytes)
                buffer.used = 0
            }
            let a = buffer.bytes.load(fromByteOffset: buffer.used, as: UInt64.self)
            let b = buffer.bytes.load(fromByteOffset: buffer.used + 8, as: UInt64.self)
            // Handed out once: the used bytes are not left readable in the buffer.
            buffer.bytes.baseAddress!.advanced(by: buffer.used).initializeMemory(as: UInt8.self, repeating: 0, count: 16)
            buffer.used += 16
            return (a, b)
        }
    }

    /// A random (version 4, RFC 9562) UUID.
    public func uuid() -> UUID {
        var (a, b) = next128()
        a = (a & 0xFFFF_FFFF_FFFF_0FFF) | 0x0000_0000_0000_4000  // version 4 (bits 48–51 of the big-endian layout)
        b = (b & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000  // variant 10
        let hi = a.bigEndian, lo = b.bigEndian
        return withUnsafeBytes(of: (hi, lo)) { raw in
            UUID(uuid: (raw[0], raw[1], raw[2], raw[3], raw[4], raw[5], raw[6], raw[7],
                        raw[8], raw[9], raw[10], raw[11], raw[12], raw[13], raw[14], raw[15]))
        }
    }

    /// glibc's `getrandom(2)` wrapper (glibc ≥ 2.25); the Glibc module does not export it.
    private typealias GetRandom = @convention(c) (UnsafeMutableRawPointer?, Int, UInt32) -> Int
    private static let getRandom: GetRandom? = {
        #if canImport(Glibc)
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "getrandom") else { return nil }
        return unsafeBitCast(symbol, to: GetRandom.self)
        #else
        return nil
        #endif
    }()

    private static func fill(_ bytes: UnsafeMutableRawBufferPointer) {
        var filled = 0
        if let getRandom {
            while filled < bytes.count {
                let n = getRandom(bytes.baseAddress!.advanced(by: filled), bytes.count - filled, 0)
                if n > 0 { filled += n } else if errno != EINTR { break }
            }
        }
        if filled < bytes.count {
            // No getrandom (or it failed): the standard library's generator, 8 bytes at a time.
            var generator = SystemRandomNumberGenerator()
            var offset = filled & ~7
            while offset < bytes.count {
                bytes.storeBytes(of: generator.next() as UInt64, toByteOffset: offset, as: UInt64.self)
                offset += 8
            }
        }
    }
}
