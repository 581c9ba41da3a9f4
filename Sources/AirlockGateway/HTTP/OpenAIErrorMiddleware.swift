import AirlockCore
import Hummingbird
import Logging

/// The one place errors become HTTP: every failure leaves as OpenAI's error JSON, and every
/// response, good or bad, carries `x-request-id`.
struct OpenAIErrorMiddleware: RouterMiddleware {
    typealias Context = AirlockRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        if let incoming = RequestID.accept(request.headers.value(.requestID)) {
            context.requestID = incoming
            context.logger[metadataKey: "request_id"] = .string(incoming)
        }
        var response: Response
        do {
            response = try await next(request, context)
        } catch {
            let airlock = OpenAIErrorMiddleware.map(error)
            OpenAIErrorMiddleware.log(airlock, logger: context.logger)
            response = OpenAIErrorMiddleware.response(for: airlock, requestID: context.requestID)
        }
        response.headers[.requestID] = context.requestID
        Self.closeAfterRefusal(&response, request: request, context: context)
        return response
    }

    /// When a request is refused before its body was read (401, 408, 413), the server goes on
    /// reading and discarding the rest of that body before the next request, so a trickled or
    /// endless chunked body would hold the connection forever. The answer says
    /// `connection: close` and the connection is closed after a short linger, long enough for
    /// an honest client to finish sending and read the answer.
    static func closeAfterRefusal(_ response: inout Response, request: Request, context: Context) {
        guard [401, 408, 413].contains(response.status.code) else { return }
        let hasBody = request.headers.value(.contentLength).map { $0 != "0" } ?? (request.headers.value(.transferEncoding) != nil)
        guard hasBody else { return }
        response.headers[.connection] = "close"
        let channel = context.channel
        channel.eventLoop.scheduleTask(in: .seconds(2)) { channel.close(promise: nil) }
    }

    /// Codes only: messages may name a model or rule, never request content, but the code
    /// is all operators need next to the request id.
    static func log(_ error: AirlockError, logger: Logger) {
        if error.httpStatus >= 500 {
            logger.error("request failed", metadata: ["code": .string(error.code.rawValue)])
        } else {
            logger.info("request rejected", metadata: ["code": .string(error.code.rawValue)])
        }
    }

    static func map(_ error: any Error) -> AirlockError {
        if let e = error as? AirlockError { return e }
        if let e = error as? HTTPError {
            switch e.status {
            case .notFound: return AirlockError(.invalidRequest, "Unknown endpoint")
            case .contentTooLarge: return AirlockError(.bodyTooLarge, "Request body is too large")
            case .methodNotAllowed: return AirlockError(.invalidRequest, "Method not allowed")
            case .badRequest: return AirlockError(.invalidRequest, "Bad request")
            default: return AirlockError(.internalError, "Request failed")
            }
        }
        return AirlockError(.internalError, "Internal error")
    }

    static func response(for error: AirlockError, requestID: String) -> Response {
        var body = error.openAIBody
        if error.httpStatus >= 500, case .object(var root) = body, case .object(var inner)? = root["error"] {
            // Support can find the failed call in logs and audit from the message alone.
            inner["message"] = .string(error.message + " (request id \(requestID))")
            root["error"] = .object(inner)
            body = .object(root)
        }
        var headers: HTTPFields = [.contentType: "application/json"]
        if error.code == .rateLimited { headers[.retryAfter] = "1" }
        let status: HTTPResponse.Status = error.code == .invalidRequest && error.message == "Unknown endpoint" ? .notFound : .init(code: error.httpStatus)
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body.serializedBytes)))
    }
}
