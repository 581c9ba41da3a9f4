import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTPTypes

/// Assembles each request on the event loop and starts one task that answers it (see
/// `DirectHTTP1Channel`).
///
/// A request whose whole body has arrived (nearly every API call) is handed over at once, as
/// one buffer. One whose body is still arriving at the end of the read that brought its head
/// is handed over then, with its body as a stream fed by later reads, with back-pressure
/// (reading stops while the handler has not taken what is there). So a refusal (401, 413) can
/// still be sent before a large or trickled body has arrived, and the route's body deadline
/// and size limit work as with Hummingbird's own loop. What is left of a body after its
/// answer is read and dropped, like Hummingbird does.
///
/// Pipelined requests are answered in order: the parts of a request that arrives while
/// another is being answered wait here, and reading pauses until they are replayed once the
/// answer has ended. Doing this here rather than in NIO's pipelining handler keeps the socket
/// registered for reading between ordinary requests: that handler withholds every read until
/// the answer is written, two `epoll_ctl` calls per request (3–5 µs of a call's work).
final class RequestDispatchHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    typealias BodyStream = NIOThrowingAsyncSequenceProducer<ByteBuffer, any Error, NIOAsyncSequenceProducerBackPressureStrategies.HighLowWatermark, BodyDemand>

    /// Where the request being read is.
    enum RequestState {
        /// Between requests.
        case waitingForHead
        /// Head (and maybe some body) read, not yet handed over: the current read is still going.
        case collecting(HTTPRequest, body: ByteBuffer?)
        /// Handed over before its body ended; the rest of the body goes into the stream.
        case streaming(BodyStream.Source)
        /// Answered before its body ended: the rest is read and dropped.
        case discarding
    }

    private let respond: DirectHTTP1Channel.Respond
    private let logger: Logger
    private var state = RequestState.waitingForHead
    /// A request has been handed over and its answer has not ended yet.
    private var answering = false
    private var closeAfterAnswer = false
    /// Parts of pipelined requests that arrived while an answer was still being written.
    private var queued = CircularBuffer<HTTPRequestPart>()
    /// Reading is paused while the stream holds more than its high watermark.
    private var paused = false
    private var readHeld = false
    /// Parts that waited behind an answer are being fed again (from inside that answer's write).
    private var replaying = false
    /// The client has closed its side (the listener allows half-closure): nothing more will
    /// arrive, so the connection closes once what it asked for is answered.
    private var clientDone = false

    init(respond: @escaping DirectHTTP1Channel.Respond, logger: Logger) {
        self.respond = respond
        self.logger = logger
    }

    // MARK: inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        // A request that arrives while another is being answered waits, and so does
        // everything behind it, in order.
        guard queued.isEmpty && !mustWait(part) else {
            queued.append(part)
            return
        }
        take(part, context: context)
    }

    private func mustWait(_ part: HTTPRequestPart) -> Bool {
        if case .head = part { return answering }
        return false
    }

    private func take(_ part: HTTPRequestPart, context: ChannelHandlerContext) {
        switch part {
        case .head(let head):
            guard case .waitingForHead = state else {
                // The decoder delivers a head only after the previous request's end.
                context.close(promise: nil)
                return
            }
            closeAfterAnswer = head.headerFields[.connection]?.lowercased() == "close"
            state = .collecting(head, body: nil)
        case .body(let piece):
            switch state {
            case .collecting(let head, var body):
                state = .waitingForHead  // drop the reference so the append does not copy
                if body == nil { body = piece } else { body!.writeImmutableBuffer(piece) }
                state = .collecting(head, body: body)
            case .streaming(let source):
                if source.yield(piece) == .stopProducing { paused = true }
            case .discarding, .waitingForHead:
                break
            }
        case .end:
            switch state {
            case .collecting(let head, let body):
                state = .waitingForHead
                dispatch(head: head, wholeBody: body ?? ByteBuffer(), stream: nil, context: context)
            case .streaming(let source):
                source.finish()
                state = .waitingForHead
            case .discarding:
                state = .waitingForHead
                resumeReading(context: context)
            case .waitingForHead:
                break
            }
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        handOverUnfinished(context: context)
        context.fireChannelReadComplete()
    }

    /// A request whose body has not ended with this read is handed over with its body as a stream.
    private func handOverUnfinished(context: ChannelHandlerContext) {
        guard case .collecting(let head, let body) = state else { return }
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let demand = BodyDemand(eventLoop: context.eventLoop) { loopBound.value.0.resumeReading(context: loopBound.value.1) }
        let stream = BodyStream.makeSequence(backPressureStrategy: .init(lowWatermark: 2, highWatermark: 8), finishOnDeinit: false, delegate: demand)
        if let body, stream.source.yield(body) == .stopProducing { paused = true }
        state = .streaming(stream.source)
        dispatch(head: head, wholeBody: nil, stream: stream.sequence, context: context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if case .streaming(let source) = state {
            source.finish(ChannelError.ioOnClosedChannel)
        }
        state = .discarding
        queued.removeAll()
        context.fireChannelInactive()
    }

    /// A client that closes its end of an idle keep-alive connection would otherwise leave it
    /// open here, a descriptor and a `limits.max_connections` place held until the idle
    /// timeout. A request in flight (or queued behind one) is still answered first.
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed {
            clientDone = true
            if case .streaming(let source) = state {
                source.finish(ChannelError.inputClosed)
                state = .discarding
            }
            if !answering && queued.isEmpty { context.close(promise: nil) }
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if case .streaming(let source) = state { source.finish(error) }
        state = .discarding
        queued.removeAll()
        context.close(promise: nil)
    }

    private func dispatch(head: HTTPRequest, wholeBody: ByteBuffer?, stream: BodyStream?, context: ChannelHandlerContext) {
        answering = true
        let requestBody = if let stream { HummingbirdCore.RequestBody(asyncSequence: stream) }
            else { HummingbirdCore.RequestBody(buffer: wholeBody ?? ByteBuffer()) }
        let channel = context.channel
        let respond = self.respond
        let logger = self.logger
        let answer: @Sendable () async -> Void = {
            let response = await respond(Request(head: head, body: requestBody), wholeBody, channel, logger)
            await ChannelResponseWriter.write(response, to: channel)
        }
        // The handler starts at once on this loop, up to its first real wait (the provider's
        // answer, or a body still arriving): the provider request leaves in this read's turn
        // instead of after a scheduling hop (~10 µs of a c=1 call, more with personal data).
        // A request replayed from the queue is answered from inside the previous answer's
        // write; it gets its own task, so a long pipelined queue of answers that need no wait
        // (refusals) is not answered by ever deeper recursion.
        if replaying {
            Task(operation: answer)
        } else {
            Task.immediate(operation: answer)
        }
    }

    // MARK: outbound

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard case .end = unwrapOutboundIn(data) else {
            context.write(data, promise: promise)
            return
        }
        // The answer is complete: the connection is ready for the next request, or closes if
        // the client asked.
        answering = false
        if case .streaming(let source) = state {
            source.finish()
            state = .discarding
            resumeReading(context: context)
        }
        if closeAfterAnswer || (clientDone && queued.isEmpty) {
            queued.removeAll()
            let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
            let written = context.eventLoop.makePromise(of: Void.self)
            written.futureResult.whenComplete { _ in loopBound.value.close(promise: nil) }
            if let promise { written.futureResult.cascade(to: promise) }
            context.write(data, promise: written)
            return
        }
        context.write(data, promise: promise)
        replayQueued(context: context)
    }

    /// Feeds the parts that waited behind the answer just ended, up to the next request that
    /// has to wait in turn.
    private func replayQueued(context: ChannelHandlerContext) {
        guard !queued.isEmpty else { return }
        replaying = true
        defer { replaying = false }
        while let part = queued.first, !mustWait(part) {
            queued.removeFirst()
            take(part, context: context)
        }
        handOverUnfinished(context: context)
        releaseHeldRead(context: context)
    }

    func read(context: ChannelHandlerContext) {
        if paused || !queued.isEmpty {
            readHeld = true
        } else {
            context.read()
        }
    }

    private func resumeReading(context: ChannelHandlerContext) {
        paused = false
        releaseHeldRead(context: context)
    }

    private func releaseHeldRead(context: ChannelHandlerContext) {
        if readHeld && !paused && queued.isEmpty {
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
