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
        let body: JSONValue = ["status": r.isReady ? "ready" : "not_ready", "database": .bool(r.isDatabaseUp)]
        return Self.json(r.isReady ? .ok : .serviceUnavailable, body)
    }

    func models(_ request: Request, context: AirlockRequestContext) -> Response {
        Self.json(.ok, services.providers.modelList)
    }

    static func json(_ status: HTTPResponse.Status, _ value: JSONValue) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: value.serializedBytes)))
    }
}
