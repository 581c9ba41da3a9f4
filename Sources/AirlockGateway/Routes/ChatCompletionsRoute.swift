import AirlockAudit
import AirlockCore
import Hummingbird
import NIOCore
import Synchronization

/// `POST /v1/chat/completions`, handled by the pipeline.
struct ChatCompletionsRoute: Sendable {
    let services: GatewayServices

    func handle(_ request: Request, context: AirlockRequestContext) async throws -> Response {
        try await ChatPipeline(services: services).handle(request, context: context)
    }
}

enum RequestBody {
    /// Rejects oversized bodies from `content-length` before reading, and stops reading at
    /// the limit for chunked bodies.
    static func collect(_ request: Request, limit: Int) async throws -> [UInt8] {
        if let length = request.headers.value(.contentLength).flatMap({ Int($0) }), length > limit {
            throw AirlockError(.bodyTooLarge, "Request body exceeds the limit of \(limit) bytes")
        }
        do {
            let buffer = try await request.body.collect(upTo: limit)
            return Array(buffer.readableBytesView)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw AirlockError(.bodyTooLarge, "Request body exceeds the limit of \(limit) bytes")
        } catch is NIOTooManyBytesError {
            // A chunked body (no content-length) that passes the limit while being read.
            throw AirlockError(.bodyTooLarge, "Request body exceeds the limit of \(limit) bytes")
        }
    }

    /// `collect` against the configured limits, within `limits.body_timeout_seconds`: a body
    /// still trickling in after that gets 408 (and the connection is closed after it, see
    /// `OpenAIErrorMiddleware.closeAfterRefusal`), so a slow body cannot hold a handler (slowloris).
    static func collect(_ request: Request, context: AirlockRequestContext, limits: GatewayConfiguration.Limits) async throws -> [UInt8] {
        let limit = limits.maxBodyBytes
        // Already here (nearly every API call): nothing to read, so no deadline to watch.
        if let whole = context.receivedBody {
            guard whole.readableBytes <= limit else { throw AirlockError(.bodyTooLarge, "Request body exceeds the limit of \(limit) bytes") }
            return Array(whole.readableBytesView)
        }
        let timeout = Duration.milliseconds(Int64(limits.bodyTimeoutSeconds * 1000))
        // The read runs in one task that a timer on the connection's event loop cancels at the
        // deadline; the handler always waits for that task to end, so Hummingbird's own drain
        // of the body never overlaps it. (A task group with a sleeping second child did the
        // same with two tasks and a continuation more per call: ~20 µs of a 0.3 ms budget.)
        let read = Task { try await collect(request, limit: limit) }
        let timedOut = Mutex(false)
        let deadline = LoopTimer.schedule(after: timeout, on: context.channel.eventLoop) {
            timedOut.withLock { $0 = true }
            read.cancel()
        }
        let result = await withTaskCancellationHandler { await read.result } onCancel: { read.cancel() }
        deadline.cancel()
        switch result {
        case .success(let bytes):
            return bytes  // even if the timer fired as the last byte came in
        case .failure(let error):
            if timedOut.withLock({ $0 }) {
                throw AirlockError(.requestTimeout, "The request body did not arrive within \(Int(limits.bodyTimeoutSeconds)) seconds")
            }
            throw error
        }
    }

    /// Model names are echoed in errors; keep them short and free of control characters.
    static func printable(_ s: String) -> String {
        String(s.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7F }.prefix(128).map(Character.init))
    }
}
