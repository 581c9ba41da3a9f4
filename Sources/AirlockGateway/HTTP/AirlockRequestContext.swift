import AirlockCore
import Hummingbird
import Logging
import NIOCore

/// Per-request state carried through the pipeline.
public struct AirlockRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The client's address, recorded in audit.
    public let remoteAddress: SocketAddress?
    /// The connection, so a request that overstays its body deadline can be dropped.
    public let channel: any Channel
    /// Echoed in `x-request-id`, put on every log line, recorded in audit.
    public var requestID: String
    /// The whole request body when it arrived with the head (set by `DirectHTTP1Channel`);
    /// nil when it is still arriving or the server does not say.
    public var receivedBody: ByteBuffer?

    public init(source: Source) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
        self.channel = source.channel
        self.requestID = RequestID.make()
        self.logger[metadataKey: "request_id"] = .string(requestID)
    }

    /// Bodies are collected explicitly against the configured limit.
    public var maxUploadSize: Int { Int.max }
}

enum RequestID {
    /// 16 random bytes, hex: unguessable and safe to echo in headers and logs.
    static func make() -> String {
        let (a, b) = RandomPool.shared.next128()
        // Written straight into the string's storage: this runs for every request.
        return String(unsafeUninitializedCapacity: 36) { out in
            func hex(_ nibble: UInt64) -> UInt8 { UInt8(truncatingIfNeeded: nibble < 10 ? 48 + nibble : 87 + nibble) }
            for (i, c) in "req_".utf8.enumerated() { out[i] = c }
            for i in 0..<16 {
                out[4 + i] = hex((a >> UInt64(60 - 4 * i)) & 0xF)
                out[20 + i] = hex((b >> UInt64(60 - 4 * i)) & 0xF)
            }
            return 36
        }
    }

    /// A client-supplied id is reused only if it is short and plain, so it can't inject
    /// headers or log fields.
    static func accept(_ value: String?) -> String? {
        guard let value, (8...64).contains(value.utf8.count) else { return nil }
        for b in value.utf8 {
            switch b {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."):
                continue
            default:
                return nil
            }
        }
        return value
    }
}
