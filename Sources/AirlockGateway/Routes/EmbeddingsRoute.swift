import AirlockCore
import AirlockPolicy
import Hummingbird

/// `POST /v1/embeddings`: authenticated, then passed through to a provider serving the model
/// (embedding inputs are not rewritten, so they are only sent where the tenant's policy
/// permits with no findings restricting the destination).
struct EmbeddingsRoute: Sendable {
    let services: GatewayServices

    func handle(_ request: Request, context: AirlockRequestContext) async throws -> Response {
        let (principal, snapshot) = try await ChatPipeline(services: services).authenticate(request)
        let bytes = try await RequestBody.collect(request, context: context, limits: services.configuration.limits)
        let body = try JSONBody.parseObject(bytes)
        guard let model = body["model"]?.stringValue, !model.isEmpty else {
            throw AirlockError(.invalidRequest, "Missing required parameter: 'model'", param: "model")
        }
        try validateModelName(model)
        guard body["input"] != nil else { throw AirlockError(.invalidRequest, "Missing required parameter: 'input'", param: "input") }
        let active = snapshot.activePolicy(tenant: principal.tenantID)
        let evaluator = active.map { services.governance.evaluator(for: $0) } ?? services.defaultPolicy
        var findings: [Finding] = []
        // Every string in `input`, however nested: an array of arrays must not hide text from the scanner.
        func scanAll(_ value: JSONValue) {
            switch value {
            case .string(let s): findings += services.scanner.scan(s)
            case .array(let items): items.forEach(scanAll)
            case .object(let o): o.members.forEach { scanAll($0.value) }
            default: break
            }
        }
        if let input = body["input"] { scanAll(input) }
        let decision = evaluator.evaluate(findings: findings, request: RequestContext(tenant: principal.tenantID, model: model))
        if decision.isBlocked || decision.transformsContent {
            throw AirlockError(.piiBlocked, "Embedding input contains data the policy does not let leave unchanged")
        }
        let providers = services.catalog(snapshot)
        let plan = RoutePlanner(providers: providers.filter { !$0.isLocal }).plan(decision: decision, model: model, health: services.health.snapshot)
        if let refusal = plan.refusal { throw refusal.airlockError }
        let endpoints = plan.candidates.compactMap { services.endpoint(for: $0, in: providers) }
        let forwarder = UpstreamForwarder(services: services)
        let forwarded = try await forwarder.send(path: "/embeddings", body: JSONValue.object(body).serializedBytes, candidates: endpoints, context: context)
        var headers = HTTPFields()
        headers[.airlockRoute] = "\(forwarded.endpoint.name)/\(forwarded.endpoint.region)"
        headers[.airlockDecision] = decision.headerValue
        return try await forwarder.relay(forwarded, streaming: false, headers: headers, context: context)
    }
}
