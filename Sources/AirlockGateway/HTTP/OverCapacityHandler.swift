import AirlockCore
import NIOCore
import NIOHTTP1

/// The whole pipeline of a connection over `limits.max_connections` (or its client's
/// `max_connections_per_client`): its first request is
/// answered 503 (OpenAI error JSON, `connection: close`) and the connection is closed. One
/// that sends nothing is closed after `grace`, so refused clients cannot hold descriptors.
final class OverCapacityHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let grace: TimeAmount
    private let refusal: ConnectionLimiter.Refusal
    private var answered = false

    init(refusal: ConnectionLimiter.Refusal = .listenerFull, grace: TimeAmount = .seconds(2)) {
        self.refusal = refusal
        self.grace = grace
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let channel = context.channel
        context.eventLoop.scheduleTask(in: grace) { channel.close(promise: nil) }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed, !answered { context.close(promise: nil) }
        context.fireUserInboundEventTriggered(event)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .head = unwrapInboundIn(data), !answered else { return }
        answered = true
        let error = switch refusal {
        case .listenerFull: AirlockError(.serverOverloaded, "The gateway is at its connection limit; retry shortly")
        case .clientFull: AirlockError(.serverOverloaded, "This client holds as many connections as the gateway allows one client; reuse them or close some")
        }
        var body = context.channel.allocator.buffer(capacity: 256)
        body.writeBytes(error.openAIBody.serializedBytes)
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: "application/json")
        headers.add(name: "content-length", value: String(body.readableBytes))
        headers.add(name: "connection", value: "close")
        headers.add(name: "retry-after", value: "1")
        let head = HTTPResponseHead(version: .http1_1, status: .serviceUnavailable, headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
    }
}
