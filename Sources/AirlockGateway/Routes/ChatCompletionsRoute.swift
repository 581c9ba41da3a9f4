import AirlockCore
import Hummingbird
import NIOCore

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
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > limit {
            throw AirlockError(.bodyTooLarge, "Request body exceeds the limit of \(limit) bytes")
        }
        do {
            let buffer = try await request.body.collect(upTo: limit)
            return Array(buffer.readableBytesView)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw AirlockError(.bodyTooLarge, "Request body exceeds the limit of \(limit) bytes")
        }
    }

    /// Model names are echoed in errors; keep them short and free of control characters.
    static func printable(_ s: String) -> String {
        String(s.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7F }.prefix(128).map(Character.init))
    }
}
