import AirlockCore
import AirlockUpstream
import Hummingbird
import NIOCore

/// `POST /v1/chat/completions`: authenticate → parse → scan → decide → transform → route →
/// stream back → audit. Each step is its own type; this only composes them.
struct ChatCompletionsRoute: Sendable {
    let services: GatewayServices

    func handle(_ request: Request, context: AirlockRequestContext) async throws -> Response {
        let bytes = try await RequestBody.collect(request, limit: services.configuration.limits.maxBodyBytes)
        let chat = try ChatRequest.parse(bytes)
        let candidates = services.providers.candidates(for: chat.model)
        guard !candidates.isEmpty else {
            throw AirlockError(.modelNotFound, "The model '\(RequestBody.printable(chat.model))' does not exist or is not served by this gateway", param: "model")
        }
        let forwarder = UpstreamForwarder(services: services)
        let forwarded = try await forwarder.send(path: "/chat/completions", body: chat.serialized, candidates: candidates, context: context)
        var headers = HTTPFields()
        headers[.init("x-airlock-route")!] = "\(forwarded.endpoint.name)/\(forwarded.endpoint.region)"
        headers[.init("x-airlock-decision")!] = "allow"
        headers[.init("x-airlock-policy-version")!] = "none"
        return try await forwarder.relay(forwarded, streaming: chat.stream, headers: headers, context: context)
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
        let cleaned = String(s.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7F }.prefix(128).map(Character.init))
        return cleaned
    }
}
