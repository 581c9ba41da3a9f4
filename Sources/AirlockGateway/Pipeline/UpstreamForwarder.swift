import AirlockCore
import AirlockUpstream
import Hummingbird
import Logging
import NIOCore

/// Sends a prepared body to the first working candidate and turns the provider's answer
/// into the client's response: JSON bodies are buffered (bounded), SSE streams are relayed
/// chunk by chunk as they arrive.
struct UpstreamForwarder: Sendable {
    let services: GatewayServices

    struct Forwarded {
        var endpoint: ProviderEndpoint
        var response: UpstreamClient.Response
    }

    /// Tries candidates in order; connection failures and 5xx move on to the next one.
    func send(path: String, body: [UInt8], candidates: [ProviderEndpoint], context: AirlockRequestContext) async throws(AirlockError) -> Forwarded {
        var lastError = AirlockError(.upstreamError, "no provider available")
        for endpoint in candidates {
            do {
                let response = try await services.upstream.post(endpoint, path: path, body: body, requestID: context.requestID, logger: context.logger,
                                                                streaming: false, on: context.channel.eventLoop)
                if response.status >= 500 {
                    _ = try? await response.collect(upTo: 1 << 20)
                    context.logger.warning("provider answered with server error", metadata: ["provider": .string(endpoint.name), "status": "\(response.status)"])
                    lastError = AirlockError(.upstreamError, "provider '\(endpoint.name)' failed with status \(response.status)")
                    continue
                }
                return Forwarded(endpoint: endpoint, response: response)
            } catch {
                context.logger.warning("provider unreachable", metadata: ["provider": .string(endpoint.name), "code": .string(error.code.rawValue)])
                lastError = error
            }
        }
        throw lastError
    }

    /// Builds the client response. Provider credential failures are Airlock's
    /// misconfiguration, not the client's, so they become 502 rather than leaking a 401.
    func relay(_ forwarded: Forwarded, streaming: Bool, headers extra: HTTPFields, context: AirlockRequestContext) async throws -> Response {
        let response = forwarded.response
        let name = forwarded.endpoint.name
        if response.status == 401 || response.status == 403 {
            _ = try? await response.collect(upTo: 1 << 20)
            throw AirlockError(.upstreamError, "provider '\(name)' rejected Airlock's credentials")
        }
        var headers = extra
        if streaming && response.isEventStream && response.status == 200 {
            headers[.contentType] = "text/event-stream"
            headers[.cacheControl] = "no-cache"
            let body = response.body
            let logger = context.logger
            return Response(status: .ok, headers: headers, body: ResponseBody { writer in
                do {
                    for try await chunk in body { try await writer.write(chunk) }
                } catch {
                    // Either the client went away (dropping `body` cancels the provider
                    // request) or the provider broke off mid-stream.
                    logger.info("stream ended early", metadata: ["provider": .string(name)])
                    throw error
                }
                try await writer.finish(nil)
            })
        }
        let buffer: ByteBuffer
        do { buffer = try await response.collect(upTo: services.configuration.upstream.maxResponseBytes) } catch {
            throw UpstreamClient.classify(error, provider: name)
        }
        headers[.contentType] = response.headers.first(name: "content-type") ?? "application/json"
        if let retry = response.headers.first(name: "retry-after") { headers[.retryAfter] = retry }
        return Response(status: .init(code: response.status), headers: headers, body: .init(byteBuffer: buffer))
    }
}
