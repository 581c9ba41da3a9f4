import AirlockCore
import Hummingbird

/// `POST /v1/embeddings`: passed through to a provider serving the model.
struct EmbeddingsRoute: Sendable {
    let services: GatewayServices

    func handle(_ request: Request, context: AirlockRequestContext) async throws -> Response {
        let bytes = try await RequestBody.collect(request, limit: services.configuration.limits.maxBodyBytes)
        let body = try JSONBody.parseObject(bytes)
        guard let model = body["model"]?.stringValue, !model.isEmpty else {
            throw AirlockError(.invalidRequest, "Missing required parameter: 'model'", param: "model")
        }
        guard body["input"] != nil else { throw AirlockError(.invalidRequest, "Missing required parameter: 'input'", param: "input") }
        let candidates = services.providers.candidates(for: model)
        guard !candidates.isEmpty else {
            throw AirlockError(.modelNotFound, "The model '\(RequestBody.printable(model))' does not exist or is not served by this gateway", param: "model")
        }
        let forwarder = UpstreamForwarder(services: services)
        let forwarded = try await forwarder.send(path: "/embeddings", body: JSONValue.object(body).serializedBytes, candidates: candidates, context: context)
        var headers = HTTPFields()
        headers[.init("x-airlock-route")!] = "\(forwarded.endpoint.name)/\(forwarded.endpoint.region)"
        return try await forwarder.relay(forwarded, streaming: false, headers: headers, context: context)
    }
}
