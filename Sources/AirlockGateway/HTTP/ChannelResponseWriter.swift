import Hummingbird
import HummingbirdCore
import NIOCore
import NIOHTTPTypes

/// Writes a router `Response` straight to the connection (see `DirectHTTP1Channel`).
///
/// A body of known length (every whole answer) is written without a flush until its end, so
/// head, body and end leave in one `writev`. A body of unknown length (an SSE stream) is
/// flushed part by part, and each part is awaited until the socket took it: a slow reader
/// holds the provider back instead of filling memory.
struct ChannelResponseWriter: ResponseBodyWriter {
    let channel: any Channel
    private var pendingHead: HTTPResponse?
    private let flushEachPart: Bool

    init(channel: any Channel, head: HTTPResponse, contentLength: Int?) {
        self.channel = channel
        self.pendingHead = head
        self.flushEachPart = contentLength == nil
    }

    /// Writes the whole response; a body that fails part-way closes the connection, since the
    /// client cannot be sent a complete answer any more.
    static func write(_ response: Response, to channel: any Channel) async {
        let writer = ChannelResponseWriter(channel: channel, head: response.head, contentLength: response.body.contentLength)
        do {
            try await response.body.write(writer)
        } catch {
            channel.close(promise: nil)
        }
    }

    private mutating func writeHeadIfPending() {
        if let head = pendingHead {
            channel.write(HTTPResponsePart.head(head), promise: nil)
            pendingHead = nil
        }
    }

    mutating func write(_ buffer: ByteBuffer) async throws {
        writeHeadIfPending()
        if flushEachPart {
            try await channel.writeAndFlush(HTTPResponsePart.body(buffer)).get()
        } else {
            channel.write(HTTPResponsePart.body(buffer), promise: nil)
        }
    }

    consuming func finish(_ trailingHeaders: HTTPFields?) async throws {
        writeHeadIfPending()
        guard flushEachPart else {
            // A whole answer: nothing is left to pace, so the task need not wait for the
            // socket (a failed write closes the connection either way).
            channel.writeAndFlush(HTTPResponsePart.end(trailingHeaders), promise: nil)
            return
        }
        try await channel.writeAndFlush(HTTPResponsePart.end(trailingHeaders)).get()
    }
}
