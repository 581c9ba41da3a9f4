import AirlockCore
import Hummingbird
import NIOCore

/// `/healthz` (the process is up), `/readyz` (it can serve: database reachable, schema
/// migrated) and `/v1/models`.
struct StatusRoutes: Sendable {
    let services: GatewayServices

    func health(_ request: Request, context: AirlockRequestContext) -> Response {
        Self.json(.ok, ["status": "ok"])
    }

    func ready(_ request: Request, context: AirlockRequestContext) -> Response {
        let r = services.readiness
        let ready = r.isReady && services.governance.isFresh
        let body: JSONValue = ["status": ready ? "ready" : "not_ready", "database": .bool(r.isDatabaseUp),
                               "policies_loaded": .bool(services.governance.isFresh), "local_engine": .bool(services.localEngine != nil)]
        return Self.json(ready ? .ok : .serviceUnavailable, body)
    }

    func models(_ request: Request, context: AirlockRequestContext) throws -> Response {
        let snapshot = try services.governance.current()
        var seen = Set<String>()
        var data: [JSONValue] = []
        for provider in services.catalog(snapshot) where provider.enabled {
            for model in provider.models where seen.insert(model.name).inserted {
                data.append(["id": .string(model.name), "object": "model", "created": 0, "owned_by": .string(provider.name)])
            }
        }
        return Self.json(.ok, ["object": "list", "data": .array(data)])
    }

    static func json(_ status: HTTPResponse.Status, _ value: JSONValue) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: value.serializedBytes)))
    }
}
