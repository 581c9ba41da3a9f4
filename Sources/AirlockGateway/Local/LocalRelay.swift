import AirlockCore
import AirlockDetect
import AirlockPolicy
import AirlockUpstream
import Foundation
import Hummingbird
import NIOCore

/// Serves a call with the in-process engine and audits it like any other.
struct LocalRelay: Sendable {
    let services: GatewayServices

    func respond(_ local: LocalChatResponder, body: JSONObject, chat: ChatRequest, headers: HTTPFields, record: CallRecord,
                 rewriter makeRewriter: @escaping @Sendable () -> ChatStreamRewriter, restorer: ResponseRestorer,
                 providers: [ProviderConfig], context: AirlockRequestContext) async throws -> Response {
        var headers = headers
        var record = record
        let restored = body
        if chat.stream {
            let events = try local.stream(body: restored, requestID: context.requestID, includeUsage: true)
            headers[.contentType] = "text/event-stream"
            headers[.cacheControl] = "no-cache"
            let audit = services.audit
            let limiter = services.limiter
            let includeUsage = chat.includeUsage
            let initial = record
            let metrics = services.metrics
            let gate = AuditGate(services: services)
            let requestID = context.requestID
            return Response(status: .ok, headers: headers, body: ResponseBody { writer in
                var record = initial
                record.status = 200
                var rewriter = makeRewriter()
                let started = ContinuousClock.now
                var recorded = false
                metrics.localInFlight(1)
                defer { metrics.localInFlight(-1) }
                do {
                    for try await chunk in events {
                        if record.firstByteAt == nil { record.firstByteAt = Date() }
                        let event = SSEParser.Event(data: chunk.serialized)
                        let bytes = RemoteRelay.process(event, rewriter: &rewriter, record: &record, includeUsage: includeUsage)
                        if !bytes.isEmpty { try await writer.write(ByteBuffer(bytes: bytes)) }
                    }
                    if record.failClosed {
                        // `[DONE]` only once the event is durable (see `AuditGate.endFailClosedStream`).
                        try await writer.write(ByteBuffer(bytes: RemoteRelay.finishRewriting(&rewriter)))
                        record.price(servedBy: nil, servedModel: nil, requested: chat.model, catalog: providers, local: true)
                        if let u = record.usage { limiter.consume(tenant: record.tenantID, tokens: u.promptTokens + u.completionTokens) }
                        metrics.localGeneration(tokens: record.usage?.completionTokens ?? 0, seconds: GatewayMetrics.seconds(.now - started))
                        recorded = true
                        let last = await gate.endFailClosedStream(&record, done: true, requestID: requestID)
                        try await writer.write(ByteBuffer(bytes: last))
                        try await writer.finish(nil)
                        return
                    }
                    try await writer.write(ByteBuffer(bytes: RemoteRelay.process(.init(data: "[DONE]"), rewriter: &rewriter, record: &record, includeUsage: includeUsage)))
                    try await writer.finish(nil)
                } catch {
                    guard !recorded else { throw error }
                    record.errorCode = (error as? AirlockError)?.code.rawValue ?? "stream_interrupted"
                    record.price(servedBy: nil, servedModel: nil, requested: chat.model, catalog: providers, local: true)
                    audit?.record(record)
                    throw error
                }
                record.price(servedBy: nil, servedModel: nil, requested: chat.model, catalog: providers, local: true)
                if let u = record.usage { limiter.consume(tenant: record.tenantID, tokens: u.promptTokens + u.completionTokens) }
                metrics.localGeneration(tokens: record.usage?.completionTokens ?? 0, seconds: GatewayMetrics.seconds(.now - started))
                audit?.record(record)
            })
        }
        let started = ContinuousClock.now
        services.metrics.localInFlight(1)
        let json: JSONValue
        do {
            defer { services.metrics.localInFlight(-1) }
            json = try await local.complete(body: restored, requestID: context.requestID).0
        }
        record.firstByteAt = Date()
        record.status = 200
        let (answer, _) = restorer.rewrite(json)
        record.absorbUsage(answer["usage"])
        services.metrics.localGeneration(tokens: record.usage?.completionTokens ?? 0, seconds: GatewayMetrics.seconds(.now - started))
        record.price(servedBy: nil, servedModel: nil, requested: chat.model, catalog: providers, local: true)
        if let u = record.usage { services.limiter.consume(tenant: record.tenantID, tokens: u.promptTokens + u.completionTokens) }
        let bytes = answer.serializedBytes
        if record.capturePayload { record.responseBody = bytes }
        try await AuditGate(services: services).commit(record)
        headers[.contentType] = "application/json"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}
