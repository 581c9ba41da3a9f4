import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// Keep-alive HTTP/1.1 connections to plain-`http://` providers, kept per event loop: a
/// request is sent and answered on the loop of the client connection that asked for it, so
/// the call never changes threads between the client's bytes arriving and the answer
/// leaving.
///
/// Why next to AsyncHTTPClient: on a provider on the same host or LAN (vLLM, Ollama, a
/// sidecar), the general client's per-request machinery — its request state machines, the
/// shared pool handing connections across loops, the response body as an async sequence —
/// was most of Airlock's added latency (a Hummingbird → AsyncHTTPClient hop measured
/// 0.32–0.38 ms against 0.12 ms for a same-loop NIO hop). This pool does only what such a
/// call needs: one request at a time per connection, bounded body, read and total timeouts.
/// Streamed answers come back part by part with backpressure. TLS providers keep using
/// AsyncHTTPClient (HTTP/2, certificate verification).
public final class PinnedConnectionPool: Sendable {
    public struct Reply: Sendable {
        public var status: Int
        public var headers: HTTPHeaders
        /// The whole body (empty when streamed).
        public var body: ByteBuffer
        /// Streamed answers: the body as it arrives; dropping it closes the connection.
        var stream: ProviderExchangeHandler.BodyStream?
    }

    /// Connections idle longer than this are closed (providers drop them anyway).
    let idleTimeout: TimeAmount
    /// Idle connections kept per provider and loop.
    let maxIdlePerProvider: Int
    private let loops = NIOLockedValueBox<[ObjectIdentifier: NIOLoopBound<LoopConnections>]>([:])
    private let shutDown = NIOLockedValueBox(false)

    public init(idleTimeout: TimeAmount = .seconds(60), maxIdlePerProvider: Int = 64) {
        self.idleTimeout = idleTimeout
        self.maxIdlePerProvider = maxIdlePerProvider
    }

    /// Sends `body` to `target` on `loop` and returns the whole answer, or with `streaming`
    /// the answer's head as soon as it arrives and its body as a stream. Throws
    /// `ProviderExchangeHandler.Failure` or a connection error; cancelling the calling task
    /// (or dropping the stream) closes the connection.
    func post(_ target: PlainHTTPTarget, headers: HTTPHeaders, body: ByteBuffer, on loop: any EventLoop,
              connectTimeout: TimeAmount, readTimeout: TimeAmount, totalTimeout: TimeAmount, maxResponseBytes: Int,
              streaming: Bool = false) async throws -> Reply {
        guard !shutDown.withLockedValue({ $0 }) else { throw ProviderExchangeHandler.Failure(kind: .closed, receivedNothing: true) }
        let deadline = NIODeadline.now() + totalTimeout
        // `headers` carries `host` already (see RequestTemplates) and never a length.
        var requestHead = HTTPRequestHead(version: .http1_1, method: .POST, uri: target.pathAndQuery, headers: headers)
        requestHead.headers.add(name: "content-length", value: String(body.readableBytes))
        let head = requestHead
        let cancel = NIOLockedValueBox(ProviderExchangeHandler.Cancellation())
        let work: @Sendable () -> EventLoopFuture<ProviderExchangeHandler.Reply> = {
            let connections = self.connections(on: loop)
            return connections.send(head: head, body: body, to: target, connectTimeout: connectTimeout, readTimeout: readTimeout,
                                    deadline: deadline, maxBytes: maxResponseBytes, streaming: streaming, cancel: cancel)
        }
        let future = loop.inEventLoop ? work() : loop.flatSubmit(work)
        let reply = try await withTaskCancellationHandler {
            try await future.get()
        } onCancel: {
            cancel.withLockedValue { $0.cancel() }
        }
        return Reply(status: Int(reply.head.status.code), headers: reply.head.headers, body: reply.body, stream: reply.stream)
    }

    /// Closes every idle connection; requests after this fail.
    public func shutdown() {
        shutDown.withLockedValue { $0 = true }
        let all = loops.withLockedValue { Array($0.values) }
        for bound in all {
            bound.eventLoop.execute { bound.value.closeAll() }
        }
    }

    /// This loop's connections, created on first use. Must be called on `loop`.
    private func connections(on loop: any EventLoop) -> LoopConnections {
        let key = ObjectIdentifier(loop)
        if let existing = loops.withLockedValue({ $0[key] }) { return existing.value }
        let created = LoopConnections(loop: loop, idleTimeout: idleTimeout, maxIdle: maxIdlePerProvider)
        loops.withLockedValue { $0[key] = NIOLoopBound(created, eventLoop: loop) }
        return created
    }
}

extension ProviderExchangeHandler {
    /// Lets a task cancellation handler (any thread) cancel the exchange on its loop, also
    /// when it fires before the exchange has started.
    struct Cancellation: Sendable {
        private var handler: NIOLoopBound<ProviderExchangeHandler>?
        private var number: UInt64 = 0
        private(set) var isCancelled = false

        mutating func cancel() {
            isCancelled = true
            if let bound = handler {
                let number = self.number
                bound.eventLoop.execute { bound.value.cancel(exchange: number) }
            }
        }

        /// Records the exchange just started on `handler`; true when the caller has already gone.
        mutating func attach(_ handler: ProviderExchangeHandler, on loop: any EventLoop) -> Bool {
            self.handler = NIOLoopBound(handler, eventLoop: loop)
            number = handler.exchangeCount
            return isCancelled
        }
    }
}

/// One event loop's idle connections, by provider authority. Only touched on that loop.
final class LoopConnections {
    let loop: any EventLoop
    let idleTimeout: TimeAmount
    let maxIdle: Int
    private var idle: [String: [(handler: ProviderExchangeHandler, since: NIODeadline)]] = [:]
    private var sweeping = false
    private var closing = false

    init(loop: any EventLoop, idleTimeout: TimeAmount, maxIdle: Int) {
        self.loop = loop
        self.idleTimeout = idleTimeout
        self.maxIdle = maxIdle
    }

    func send(head: HTTPRequestHead, body: ByteBuffer, to target: PlainHTTPTarget, connectTimeout: TimeAmount, readTimeout: TimeAmount,
              deadline: NIODeadline, maxBytes: Int, streaming: Bool, cancel: NIOLockedValueBox<ProviderExchangeHandler.Cancellation>,
              retryOnStale: Bool = true) -> EventLoopFuture<ProviderExchangeHandler.Reply> {
        let key = target.authority
        let run: (ProviderExchangeHandler, Bool) -> EventLoopFuture<ProviderExchangeHandler.Reply> = { handler, reused in
            let reply = handler.start(head: head, body: body, maxBytes: maxBytes, readTimeout: readTimeout, deadline: deadline,
                                      streaming: streaming)
            let gone = cancel.withLockedValue { $0.attach(handler, on: self.loop) }
            if gone { handler.cancel(exchange: handler.exchangeCount) }
            return reply.assumeIsolated()
                .flatMapError { error in
                    // A pooled connection the provider closed while it sat idle fails before
                    // any byte of an answer: send once more on a new connection.
                    if reused, retryOnStale, let failure = error as? ProviderExchangeHandler.Failure,
                       failure.kind == .closed, failure.receivedNothing {
                        return self.send(head: head, body: body, to: target, connectTimeout: connectTimeout, readTimeout: readTimeout,
                                         deadline: deadline, maxBytes: maxBytes, streaming: streaming, cancel: cancel, retryOnStale: false)
                    }
                    return self.loop.makeFailedFuture(error)
                }
                .nonisolated()
        }
        if retryOnStale, let pooled = takeIdle(key) { return run(pooled, true) }
        return connect(target, key: key, timeout: min(connectTimeout, deadline - .now()))
            .assumeIsolated().flatMap { run($0, false) }.nonisolated()
    }

    private func takeIdle(_ key: String) -> ProviderExchangeHandler? {
        while let last = idle[key]?.popLast() {
            if last.handler.isOpen, last.handler.channel?.isActive == true { return last.handler }
        }
        return nil
    }

    private func connect(_ target: PlainHTTPTarget, key: String, timeout: TimeAmount) -> EventLoopFuture<ProviderExchangeHandler> {
        guard !closing else { return loop.makeFailedFuture(ProviderExchangeHandler.Failure(kind: .closed, receivedNothing: true)) }
        guard let bootstrap = ClientBootstrap(validatingGroup: loop) else {
            return loop.makeFailedFuture(ChannelError.operationUnsupported)
        }
        let handler = ProviderExchangeHandler()
        handler.onReusable = { [weak self] handler in self?.release(handler, key: key) }
        handler.onClosed = { [weak self] handler in self?.forget(handler, key: key) }
        let bound = NIOLoopBound(handler, eventLoop: loop)
        return bootstrap
            .connectTimeout(max(timeout, .milliseconds(1)))
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    // Header values were checked when the request's template was made.
                    try channel.pipeline.syncOperations.addHTTPClientHandlers(enableOutboundHeaderValidation: false)
                    try channel.pipeline.syncOperations.addHandler(bound.value)
                }
            }
            .connect(host: target.host, port: target.port)
            .assumeIsolated().map { _ in bound.value }.nonisolated()
    }

    private func release(_ handler: ProviderExchangeHandler, key: String) {
        guard !closing, (idle[key]?.count ?? 0) < maxIdle else {
            handler.channel?.close(promise: nil)
            return
        }
        idle[key, default: []].append((handler, .now()))
        scheduleSweep()
    }

    private func forget(_ handler: ProviderExchangeHandler, key: String) {
        idle[key]?.removeAll { $0.handler === handler }
        if idle[key]?.isEmpty == true { idle[key] = nil }
    }

    /// Closes connections idle past the timeout, checking again while any are left.
    private func scheduleSweep() {
        guard !sweeping else { return }
        sweeping = true
        let bound = NIOLoopBound(self, eventLoop: loop)
        loop.scheduleTask(in: .nanoseconds(idleTimeout.nanoseconds / 2)) {
            let connections = bound.value
            connections.sweeping = false
            let cutoff = NIODeadline.now() - connections.idleTimeout
            for (_, entries) in connections.idle {
                for entry in entries where entry.since < cutoff { entry.handler.channel?.close(promise: nil) }
            }
            if !connections.idle.isEmpty { connections.scheduleSweep() }
        }
    }

    func closeAll() {
        closing = true
        let all = idle.values.flatMap { $0 }
        idle = [:]
        for entry in all { entry.handler.channel?.close(promise: nil) }
    }
}
