import NIOCore
import NIOHTTP1

/// One keep-alive HTTP/1.1 connection's request/response cycle, for `PinnedConnectionPool`:
/// one response at a time, either collected whole (bounded) or — for streamed answers —
/// handed on part by part as it arrives, with backpressure (reading pauses while the
/// consumer is behind). Enforces the read and total timeouts and tells the pool when the
/// connection can be reused or is gone. Lives on its channel's event loop and is only
/// touched there.
final class ProviderExchangeHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = HTTPClientRequestPart
    typealias OutboundOut = HTTPClientRequestPart

    /// What one exchange produced: the whole body, or (streamed) the body as it arrives.
    struct Reply {
        var head: HTTPResponseHead
        var body: ByteBuffer
        var stream: BodyStream?
    }

    typealias BodyStream = NIOThrowingAsyncSequenceProducer<
        ByteBuffer, any Error, NIOAsyncSequenceProducerBackPressureStrategies.HighLowWatermark, StreamDemand>

    /// Why an exchange failed. `receivedNothing` tells a stale pooled connection (closed by
    /// the provider while idle) apart from a provider that broke off mid-answer.
    struct Failure: Error {
        enum Kind { case readTimeout, deadlineExceeded, closed, tooLarge, cancelled, protocolError }
        var kind: Kind
        var receivedNothing: Bool
    }

    private struct Exchange {
        var promise: EventLoopPromise<Reply>
        var maxBytes: Int
        var readTimeout: TimeAmount
        var deadline: NIODeadline
        var lastRead: NIODeadline
        var head: HTTPResponseHead?
        var body: ByteBuffer?
        var timer: Scheduled<Void>?
        /// Streamed exchanges: the body's source once the head is in, and whether reading is
        /// paused because the consumer has enough buffered.
        var streaming = false
        var source: BodyStream.Source?
        var paused = false
    }

    private var exchange: Exchange?
    /// Counts exchanges, so a late cancellation of one cannot hit the next on this connection.
    private(set) var exchangeCount: UInt64 = 0
    private var context: ChannelHandlerContext?
    /// Called on the loop when a response ended and the connection may serve another request.
    var onReusable: ((ProviderExchangeHandler) -> Void)?
    /// Called on the loop once, when the connection is closed.
    var onClosed: ((ProviderExchangeHandler) -> Void)?
    private(set) var isOpen = true

    var channel: Channel? { context?.channel }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    /// Writes a request and returns its reply. The caller is on this handler's loop and
    /// has checked that no exchange is running.
    func start(head: HTTPRequestHead, body: ByteBuffer, maxBytes: Int, readTimeout: TimeAmount, deadline: NIODeadline,
               streaming: Bool = false) -> EventLoopFuture<Reply> {
        guard let context else { preconditionFailure("exchange started before the handler was added") }
        let promise = context.eventLoop.makePromise(of: Reply.self)
        guard isOpen, exchange == nil else {
            promise.fail(Failure(kind: .closed, receivedNothing: true))
            return promise.futureResult
        }
        exchangeCount &+= 1
        exchange = Exchange(promise: promise, maxBytes: maxBytes, readTimeout: readTimeout, deadline: deadline, lastRead: .now(),
                            streaming: streaming)
        armTimer(context: context)
        // Head, body and end leave in one write.
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        if body.readableBytes > 0 { context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil) }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        return promise.futureResult
    }

    /// Fails exchange number `number` if it is still running (the caller went away) and drops
    /// the connection: its response would arrive for nobody. A later exchange on the same
    /// connection (it went back to the pool meanwhile) is left alone.
    func cancel(exchange number: UInt64) {
        guard exchange != nil, exchangeCount == number else { return }
        fail(.cancelled)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard exchange != nil else {
            // Bytes nobody asked for: the connection is out of step.
            context.close(promise: nil)
            return
        }
        exchange!.lastRead = .now()
        switch unwrapInboundIn(data) {
        case .head(let head):
            // 1xx interim answers carry no body and are followed by the real one.
            if (100..<200).contains(head.status.code) && head.status != .switchingProtocols { return }
            exchange!.head = head
            if exchange!.streaming { startStream(head: head, context: context) }
        case .body(var part):
            if let source = exchange!.source {
                // Streamed: no size bound here (the SSE parser bounds each event).
                if source.yield(part) == .stopProducing { exchange!.paused = true }
                return
            }
            let received = (exchange!.body?.readableBytes ?? 0) + part.readableBytes
            guard received <= exchange!.maxBytes else { return fail(.tooLarge) }
            if exchange!.body == nil { exchange!.body = part } else { exchange!.body!.writeBuffer(&part) }
        case .end:
            guard let finished = exchange, let head = finished.head else { return fail(.protocolError) }
            exchange = nil
            finished.timer?.cancel()
            if head.isKeepAlive { onReusable?(self) } else { close(context: context) }
            if let source = finished.source {
                source.finish()
            } else {
                finished.promise.succeed(Reply(head: head, body: finished.body ?? ByteBuffer()))
            }
        }
    }

    /// Hands the answer over as soon as its head is in; the body follows through the stream.
    /// The total deadline covers only the wait for the head (as AsyncHTTPClient's does): a
    /// long answer that keeps arriving is bounded by the read timeout between parts.
    private func startStream(head: HTTPResponseHead, context: ChannelHandlerContext) {
        let demand = StreamDemand(handler: NIOLoopBound(self, eventLoop: context.eventLoop), exchange: exchangeCount)
        let made = NIOThrowingAsyncSequenceProducer.makeSequence(
            elementType: ByteBuffer.self, failureType: (any Error).self,
            backPressureStrategy: NIOAsyncSequenceProducerBackPressureStrategies.HighLowWatermark(lowWatermark: 2, highWatermark: 8),
            finishOnDeinit: false, delegate: demand)
        exchange!.source = made.source
        exchange!.deadline = .distantFuture
        exchange!.promise.succeed(Reply(head: head, body: ByteBuffer(), stream: made.sequence))
    }

    /// The consumer took enough of the buffered parts: read on.
    fileprivate func resumeReading(exchange number: UInt64) {
        guard exchange?.paused == true, exchangeCount == number, let context else { return }
        exchange!.paused = false
        exchange!.lastRead = .now()
        context.read()
    }

    /// The consumer dropped the stream (the client went away): the rest of the answer is for
    /// nobody, so the connection is closed rather than drained.
    fileprivate func consumerGone(exchange number: UInt64) {
        guard exchange != nil, exchangeCount == number else { return }
        fail(.cancelled)
    }

    func read(context: ChannelHandlerContext) {
        // Backpressure: while a streamed answer is paused, reads wait for `resumeReading`.
        if exchange?.paused == true { return }
        context.read()
    }

    func channelInactive(context: ChannelHandlerContext) {
        markClosed()
        if exchange != nil { fail(.closed) }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if exchange != nil { fail(error is HTTPParserError ? .protocolError : .closed) } else { close(context: context) }
    }

    private func fail(_ kind: Failure.Kind) {
        guard let failed = exchange else { return }
        exchange = nil
        failed.timer?.cancel()
        let nothing = failed.head == nil && failed.body == nil
        if let context { close(context: context) }
        if let source = failed.source {
            source.finish(Failure(kind: kind, receivedNothing: false))
        } else {
            failed.promise.fail(Failure(kind: kind, receivedNothing: nothing))
        }
    }

    private func close(context: ChannelHandlerContext) {
        markClosed()
        context.close(promise: nil)
    }

    private func markClosed() {
        guard isOpen else { return }
        isOpen = false
        onClosed?(self)
    }

    /// One timer per exchange instead of one per read: when it fires early because bytes
    /// arrived meanwhile, it is re-armed for the rest of the read timeout.
    private func armTimer(context: ChannelHandlerContext) {
        guard let current = exchange else { return }
        let due = current.paused ? NIODeadline.now() + current.readTimeout : min(current.lastRead + current.readTimeout, current.deadline)
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        exchange!.timer = context.eventLoop.scheduleTask(deadline: due) {
            let (handler, context) = loopBound.value
            guard let running = handler.exchange else { return }
            let now = NIODeadline.now()
            if now >= running.deadline { return handler.fail(.deadlineExceeded) }
            // A paused stream is waiting for its consumer, not for the provider.
            if !running.paused && now >= running.lastRead + running.readTimeout { return handler.fail(.readTimeout) }
            handler.armTimer(context: context)
        }
    }
}

/// The stream consumer's side of backpressure and cancellation, carried to the handler's loop.
struct StreamDemand: NIOAsyncSequenceProducerDelegate {
    let handler: NIOLoopBound<ProviderExchangeHandler>
    let exchange: UInt64

    func produceMore() {
        let (handler, number) = (self.handler, exchange)
        handler.eventLoop.execute { handler.value.resumeReading(exchange: number) }
    }

    func didTerminate() {
        let (handler, number) = (self.handler, exchange)
        handler.eventLoop.execute { handler.value.consumerGone(exchange: number) }
    }
}
