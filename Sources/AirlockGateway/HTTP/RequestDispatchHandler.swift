import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTPTypes

/// Assembles each request on the event loop and starts one task that answers it (see
/// `DirectHTTP1Channel`).
///
/// A request is handed over at the end of the read that brought its head: if its whole body
/// came with it (nearly every API call), as one buffer; otherwise as a stream fed by later
/// reads, with back-pressure (reading stops while the handler has not taken what is there).
/// So a refusal (401, 413) can still be sent before a large or trickled body has arrived, and
/// the route's body deadline and size limit work as with Hummingbird's own loop. What is left
/// of a body after its answer is read and dropped, like Hummingbird does.
final class RequestDispatchHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    typealias BodyStream = NIOThrowingAsyncSequenceProducer<ByteBuffer, any Error, NIOAsyncSequenceProducerBackPressureStrategies.HighLowWatermark, BodyDemand>

    enum RequestState {
        /// Between requests.
        case waitingForHead
        /// Head (and maybe body) read, not yet handed over: the current read is still going.
        case collecting(HTTPRequest, body: ByteBuffer?, ended: Bool)
        /// Handed over; the rest of the body goes into the stream.
        case streaming(BodyStream.Source)
        /// Handed over with its whole body.
        case received
        /// Answered before its body ended: the rest is read and dropped.
        case discarding
    }

    private let respond: DirectHTTP1Channel.Respond
    private let logger: Logger
    private var state = RequestState.waitingForHead
    private var closeAfterAnswer = false
    /// Reading is paused while the stream holds more than its high watermark.
    private var paused = false
    private var readHeld = false

    init(respond: @escaping DirectHTTP1Channel.Respond, logger: Logger) {
        self.respond = respond
        self.logger = logger
    }

    // MARK: inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            guard case .waitingForHead = state else {
                // The pipelining handler never lets a second head in early; if it did, refuse.
                context.close(promise: nil)
                return
            }
            closeAfterAnswer = head.headerFields[.connection]?.lowercased() == "close"
            state = .collecting(head, body: nil, ended: false)
        case .body(let part):
            switch state {
            case .collecting(let head, var body, let ended):
                state = .waitingForHead  // drop the reference so the append does not copy
                if body == nil { body = part } else { body!.writeImmutableBuffer(part) }
                state = .collecting(head, body: body, ended: ended)
            case .streaming(let source):
                if source.yield(part) == .stopProducing { paused = true }
            case .discarding, .waitingForHead, .received:
                break
            }
        case .end:
            switch state {
            case .collecting(let head, let body, _):
                state = .collecting(head, body: body, ended: true)
            case .streaming(let source):
                source.finish()
                state = .received
            case .discarding:
                state = .waitingForHead
                resumeReading(context: context)
            case .waitingForHead, .received:
                break
            }
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if case .collecting(let head, let body, let ended) = state {
            dispatch(head: head, body: body, ended: ended, context: context)
        }
        context.fireChannelReadComplete()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if case .streaming(let source) = state {
            source.finish(ChannelError.ioOnClosedChannel)
        }
        state = .discarding
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if case .streaming(let source) = state { source.finish(error) }
        state = .discarding
        context.close(promise: nil)
    }

    private func dispatch(head: HTTPRequest, body: ByteBuffer?, ended: Bool, context: ChannelHandlerContext) {
        let requestBody: HummingbirdCore.RequestBody
        var wholeBody: ByteBuffer?
        if ended {
            wholeBody = body ?? ByteBuffer()
            requestBody = HummingbirdCore.RequestBody(buffer: wholeBody!)
            state = .received
        } else {
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            let demand = BodyDemand(eventLoop: context.eventLoop) { loopBound.value.0.resumeReading(context: loopBound.value.1) }
            let stream = BodyStream.makeSequence(backPressureStrategy: .init(lowWatermark: 2, highWatermark: 8), finishOnDeinit: false, delegate: demand)
            if let body, stream.source.yield(body) == .stopProducing { paused = true }
            state = .streaming(stream.source)
            requestBody = HummingbirdCore.RequestBody(asyncSequence: stream.sequence)
        }
        let channel = context.channel
        let respond = self.respond
        let logger = self.logger
        let received = wholeBody
        Task {
            let response = await respond(Request(head: head, body: requestBody), received, channel, logger)
            await ChannelResponseWriter.write(response, to: channel)
        }
    }

    // MARK: outbound

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard case .end = unwrapOutboundIn(data) else {
            context.write(data, promise: promise)
            return
        }
        // The answer is complete: the connection is ready for the next request (the pipelining
        // handler releases it after this write), or closes if the client asked.
        switch state {
        case .streaming(let source):
            source.finish()
            state = .discarding
            resumeReading(context: context)
        case .received:
            state = .waitingForHead
        default:
            break
        }
        if closeAfterAnswer {
            let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
            let written = context.eventLoop.makePromise(of: Void.self)
            written.futureResult.whenComplete { _ in loopBound.value.close(promise: nil) }
            if let promise { written.futureResult.cascade(to: promise) }
            context.write(data, promise: written)
        } else {
            context.write(data, promise: promise)
        }
    }

    func read(context: ChannelHandlerContext) {
        if paused {
            readHeld = true
        } else {
            context.read()
        }
    }

    private func resumeReading(context: ChannelHandlerContext) {
        paused = false
        if readHeld {
            readHeld = false
            context.read()
        }
    }
}

/// Tells the connection's handler, on its loop, that the body stream wants more.
struct BodyDemand: NIOAsyncSequenceProducerDelegate {
    let eventLoop: any EventLoop
    let resume: @Sendable () -> Void

    func produceMore() {
        eventLoop.execute(resume)
    }

    func didTerminate() {
        eventLoop.execute(resume)
    }
}
