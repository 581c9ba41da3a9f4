import AirlockAudit
import AirlockCore
import AirlockDetect
import AirlockPolicy
import AirlockUpstream
import Foundation
import Hummingbird
import Logging
import NIOCore

/// Turns a provider's answer into the client's: placeholders restored, output scanned,
/// SSE relayed event by event as it arrives, and the call's audit event written when the
/// answer is complete (or broken off).
struct RemoteRelay: Sendable {
    let services: GatewayServices

    func relay(_ response: UpstreamClient.Response, candidate: RouteCandidate, provider: ProviderConfig?, chat: ChatRequest,
               headers: HTTPFields, record: CallRecord, rewriter makeRewriter: @escaping @Sendable () -> ChatStreamRewriter,
               restorer: ResponseRestorer, providers: [ProviderConfig], context: AirlockRequestContext) async throws -> Response {
        var headers = headers
        var record = record
        record.status = response.status
        record.firstByteAt = Date()
        if response.status == 401 || response.status == 403 {
            _ = try? await response.collect(upTo: 1 << 20)
            throw AirlockError(.upstreamError, "provider '\(candidate.provider)' rejected Airlock's credentials")
        }
        if chat.stream && response.isEventStream && response.status == 200 {
            headers[.contentType] = "text/event-stream"
            headers[.cacheControl] = "no-cache"
            let body = response.body
            let logger = context.logger
            let audit = services.audit
            let limiter = services.limiter
            let includeUsage = chat.includeUsage
            let capture = record.capturePayload
            let initial = record
            let requestID = context.requestID
            let gate = AuditGate(services: services)
            return Response(status: .ok, headers: headers, body: ResponseBody { writer in
                var record = initial
                var parser = SSEParser()
                var rewriter = makeRewriter()
                var captured: [UInt8] = []
                // A fail-closed call's `[DONE]` waits until its event is durable.
                var heldDone = false
                var recorded = false
                func emit(_ bytes: [UInt8], _ writer: inout any ResponseBodyWriter) async throws {
                    if capture && captured.count < 1 << 20 { captured += bytes }
                    try await writer.write(ByteBuffer(bytes: bytes))
                }
                func relay(_ event: SSEParser.Event, _ writer: inout any ResponseBodyWriter) async throws {
                    if record.failClosed, event.data == "[DONE]" {
                        heldDone = true
                        try await emit(Self.finishRewriting(&rewriter), &writer)
                    } else {
                        try await emit(Self.process(event, rewriter: &rewriter, record: &record, includeUsage: includeUsage), &writer)
                    }
                }
                do {
                    var chunks = body.makeAsyncIterator()
                    while true {
                        // Failures of the provider (reset, read timeout, an event past the
                        // parser's bound) are told apart from the client going away.
                        let events: [SSEParser.Event]
                        do {
                            guard let chunk = try await chunks.next() else { break }
                            events = try parser.feed(chunk.readableBytesView)
                        } catch { throw ProviderStreamFailure() }
                        for event in events { try await relay(event, &writer) }
                    }
                    if let tail = parser.finish() { try await relay(tail, &writer) }
                    if record.failClosed {
                        record.price(servedBy: provider, servedModel: candidate.model, requested: chat.model, catalog: providers, local: false)
                        if let u = record.usage { limiter.consume(tenant: record.tenantID, tokens: u.promptTokens + u.completionTokens) }
                        record.responseBody = captured
                        recorded = true
                        let last = await gate.endFailClosedStream(&record, done: heldDone, requestID: requestID)
                        try await writer.write(ByteBuffer(bytes: last))
                        try await writer.finish(nil)
                        return
                    }
                    try await writer.finish(nil)
                } catch {
                    // The client went away (dropping `body` cancels the provider request) or
                    // the provider broke off mid-stream.
                    logger.info("stream ended early", metadata: ["provider": .string(candidate.provider)])
                    guard !recorded else { throw error }
                    record.errorCode = "stream_interrupted"
                    record.price(servedBy: provider, servedModel: candidate.model, requested: chat.model, catalog: providers, local: false)
                    record.responseBody = captured
                    audit?.record(record)
                    guard error is ProviderStreamFailure else { throw error }
                    // The client is still listening: end the stream with an error event (the
                    // OpenAI SDKs raise it as an APIError) instead of a cut connection.
                    let failure = AirlockError(.upstreamError, "provider '\(candidate.provider)' broke off the stream (request id \(requestID))")
                    try await writer.write(ByteBuffer(bytes: SSEParser.Event(data: failure.openAIBody.serialized).encoded))
                    try await writer.finish(nil)
                    return
                }
                record.price(servedBy: provider, servedModel: candidate.model, requested: chat.model, catalog: providers, local: false)
                if let u = record.usage { limiter.consume(tenant: record.tenantID, tokens: u.promptTokens + u.completionTokens) }
                record.responseBody = captured
                audit?.record(record)
            })
        }

        let buffer: ByteBuffer
        do { buffer = try await response.collect(upTo: services.configuration.upstream.maxResponseBytes) } catch {
            throw UpstreamClient.classify(error, provider: candidate.provider)
        }
        var body = buffer
        if response.status == 200 {
            // An answer that is not a JSON object could be neither restored nor output-scanned:
            // it is a provider failure (the next permitted candidate is tried), never a 200.
            guard let json = try? JSONValue(parsing: buffer.readableBytesView), json.objectValue != nil else {
                throw AirlockError(.upstreamError, "provider '\(candidate.provider)' returned an answer that is not a JSON object")
            }
            record.absorbUsage(json["usage"])
            // Unchanged answers (nothing restored, nothing redacted) go out as the provider sent them.
            if let (restored, _) = restorer.rewriteIfChanged(json) { body = ByteBuffer(bytes: restored.serializedBytes) }
        }
        record.price(servedBy: provider, servedModel: candidate.model, requested: chat.model, catalog: providers, local: false)
        if let u = record.usage { services.limiter.consume(tenant: record.tenantID, tokens: u.promptTokens + u.completionTokens) }
        if response.status >= 400 {
            record.errorCode = "provider_\(response.status)"
            record.decision = .failed
        }
        if record.capturePayload { record.responseBody = Array(body.readableBytesView) }
        let pending = try await AuditGate(services: services).commitOrDefer(record)
        headers[.contentType] = response.headers.first(name: "content-type") ?? "application/json"
        if let retry = response.headers.first(name: "retry-after") { headers[.retryAfter] = retry }
        return Response(status: .init(code: response.status), headers: headers, body: AuditGate.body(body, then: pending))
    }

    /// One SSE event: JSON chunks are restored and scanned; the usage-only chunk Airlock asked
    /// for is kept for audit and passed on only if the client asked too.
    static func process(_ event: SSEParser.Event, rewriter: inout ChatStreamRewriter, record: inout CallRecord, includeUsage: Bool) -> [UInt8] {
        if event.data == "[DONE]" { return finishRewriting(&rewriter) + event.encoded }
        // Anything but a JSON object (noise, truncated JSON) was never restored or output-scanned: dropped.
        guard let json = try? JSONValue(parsing: event.data), json.objectValue != nil else { return [] }
        if let usage = json["usage"], usage.objectValue != nil {
            record.absorbUsage(usage)
            if !includeUsage, json["choices"]?.arrayValue?.isEmpty ?? true { return [] }
        }
        let rewritten = rewriter.rewrite(json)
        var out = event
        out.data = rewritten.serialized
        return out.encoded
    }
}

extension RemoteRelay {
    /// The events the rewriter still holds back (text that could have been the start of a
    /// placeholder), sent before `[DONE]`.
    static func finishRewriting(_ rewriter: inout ChatStreamRewriter) -> [UInt8] {
        var out: [UInt8] = []
        for extra in rewriter.finish() { out += SSEParser.Event(data: extra.serialized).encoded }
        return out
    }
}

/// The provider's side of a stream failed (as opposed to the client going away).
struct ProviderStreamFailure: Error {}

/// Writes the audit event for a completed non-streamed call; under a fail-closed policy the
/// answer is withheld (503) when the event cannot be made durable.
struct AuditGate: Sendable {
    let services: GatewayServices
    func commit(_ record: CallRecord) async throws {
        guard let audit = services.audit else { return }
        if record.failClosed {
            do { try await audit.recordDurably(record.event) } catch {
                throw AirlockError(.auditUnavailable, "The call could not be audited and the policy requires audit; the answer was withheld")
            }
        } else {
            audit.record(record)
        }
    }

    /// The end of a fail-closed stream: the event is made durable before the stream's last
    /// bytes go out, so a client that has read `[DONE]` (`done`) knows the call is on record.
    /// When it cannot be made durable the stream ends with an `audit_unavailable` error event
    /// instead (the OpenAI SDKs raise it), and the event stays queued until the database or
    /// the spool takes it: the call still gets its one event. Returns the bytes to send last.
    func endFailClosedStream(_ record: inout CallRecord, done: Bool, requestID: String) async -> [UInt8] {
        let doneEvent = done ? SSEParser.Event(data: "[DONE]").encoded : []
        guard let audit = services.audit else { return doneEvent }
        do {
            try await audit.recordDurably(record.event)
            return doneEvent
        } catch {
            record.errorCode = AirlockError.Code.auditUnavailable.rawValue
            audit.record(record)
            let failure = AirlockError(.auditUnavailable,
                                       "The call could not be audited and the policy requires audit; the stream was not completed (request id \(requestID))")
            return SSEParser.Event(data: failure.openAIBody.serialized).encoded
        }
    }

    /// Like `commit`, but a call whose policy does not require audit before answering gets its
    /// event written after the answer has left: the client does not wait for it.
    func commitOrDefer(_ record: CallRecord) async throws -> DeferredAuditEvent? {
        guard let audit = services.audit else { return nil }
        if record.failClosed {
            try await commit(record)
            return nil
        }
        return DeferredAuditEvent(audit: audit, event: record.eventLeavingFingerprints, fingerprints: record.pendingFingerprints)
    }

    /// A whole answer whose body, once written (or dropped unwritten), records `pending`.
    static func body(_ buffer: ByteBuffer, then pending: DeferredAuditEvent?) -> ResponseBody {
        guard let pending else { return ResponseBody(byteBuffer: buffer) }
        return ResponseBody(contentLength: buffer.readableBytes) { writer in
            try await writer.write(buffer)
            try await writer.finish(nil)
            withExtendedLifetime(pending) {}
        }
    }
}

/// An audit event recorded when the last reference to it goes: that is when the answer
/// carrying it has been written, or dropped because the connection went away first. Either
/// way the call gets exactly one event. Its fingerprints are made on the audit writer's thread.
final class DeferredAuditEvent: Sendable {
    let audit: AuditWriter
    let event: AuditEvent
    let fingerprints: PendingFingerprints?

    init(audit: AuditWriter, event: AuditEvent, fingerprints: PendingFingerprints? = nil) {
        self.audit = audit
        self.event = event
        self.fingerprints = fingerprints
    }

    deinit {
        audit.record(event, completing: fingerprints?.completion)
    }
}

