import AsyncHTTPClient
import NIOCore

/// A provider's response body: either still streaming (SSE relayed chunk by chunk) or
/// already read whole on the connection's event loop (JSON answers, see
/// `UpstreamClient.post(…, buffering:)`). Both read the same way.
public struct UpstreamBody: AsyncSequence, Sendable {
    public typealias Element = ByteBuffer

    enum Storage: Sendable {
        case streaming(HTTPClientResponse.Body)
        case buffered(ByteBuffer)
    }

    let storage: Storage

    init(streaming body: HTTPClientResponse.Body) { storage = .streaming(body) }
    init(buffered buffer: ByteBuffer) { storage = .buffered(buffer) }

    /// The whole body, failing with `NIOTooManyBytesError` past `maxBytes`.
    public func collect(upTo maxBytes: Int) async throws -> ByteBuffer {
        switch storage {
        case .streaming(let body):
            return try await body.collect(upTo: maxBytes)
        case .buffered(let buffer):
            guard buffer.readableBytes <= maxBytes else { throw NIOTooManyBytesError(maxBytes: maxBytes) }
            return buffer
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        switch storage {
        case .streaming(let body): AsyncIterator(streaming: body.makeAsyncIterator(), buffered: nil)
        case .buffered(let buffer): AsyncIterator(streaming: nil, buffered: buffer)
        }
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        var streaming: HTTPClientResponse.Body.AsyncIterator?
        var buffered: ByteBuffer?

        public mutating func next() async throws -> ByteBuffer? {
            if streaming != nil { return try await streaming!.next() }
            defer { buffered = nil }
            return buffered.flatMap { $0.readableBytes > 0 ? $0 : nil }
        }
    }
}
