import AirlockCore
import AirlockPolicy
import AirlockStore
import Crypto
import Foundation
import Hummingbird
import NIOCore

/// Operator endpoints under `/admin/v1`, authenticated with the token in `AIRLOCK_ADMIN_TOKEN`
/// (`Authorization: Bearer <token>`). Without that variable they answer 404, as if absent.
///
/// `POST /admin/v1/explain` — `{"tenant": T, "request": {chat-completions body}}` or
/// `{"tenant": T, "prompt": "...", "model": M, "classification": C}` → the document of
/// `airlock policy explain --json`. Calls no provider, records nothing, never echoes the input.
struct AdminRoutes: Sendable {
    let services: GatewayServices
    /// SHA-256 of the configured token; nil when admin routes are disabled.
    let tokenDigest: [UInt8]?

    init(services: GatewayServices) {
        self.services = services
        if let token = services.environment["AIRLOCK_ADMIN_TOKEN"], !token.isEmpty {
            tokenDigest = Array(SHA256.hash(data: Data(token.utf8)))
        } else {
            tokenDigest = nil
        }
    }

    func explain(_ request: Request, context: AirlockRequestContext) async throws -> Response {
        guard let tokenDigest else { return Self.error(.notFound, "not_found", "Not found") }
        try authorize(request, expected: tokenDigest)

        let bytes = try await RequestBody.collect(request, context: context, limits: services.configuration.limits)
        let body: JSONValue
        do { body = try JSONValue(parsing: String(decoding: bytes, as: UTF8.self)) } catch {
            throw AirlockError(.invalidJSON, "The request body is not valid JSON")
        }
        guard case .object(let o) = body, let tenant = o["tenant"]?.stringValue, !tenant.isEmpty else {
            throw AirlockError(.invalidRequest, "Expected {\"tenant\": ..., \"request\": {...}} or {\"tenant\": ..., \"prompt\": ..., \"model\": ...}")
        }
        let explainer = PolicyExplainer(scanner: services.scanner)
        let scanned: PolicyExplainer.Scanned
        if let inner = o["request"] {
            guard case .object = inner else { throw AirlockError(.invalidRequest, "'request' must be a chat-completions JSON object") }
            scanned = explainer.scan(request: inner, characters: bytes.count)
        } else if let prompt = o["prompt"]?.stringValue {
            scanned = explainer.scan(text: prompt)
        } else {
            throw AirlockError(.invalidRequest, "Give either 'request' (a chat-completions body) or 'prompt'")
        }

        let snapshot = try services.governance.current()
        guard snapshot.tenants[tenant] != nil else {
            return Self.error(.notFound, "tenant_not_found", "Tenant '\(tenant)' not found")
        }
        if let version = snapshot.unloadablePolicies[tenant] {
            return Self.error(.conflict, "policy_unloadable",
                              "Tenant '\(tenant)': active policy version \(version) no longer validates; the gateway fails closed for this tenant")
        }

        var providers = services.configuredProviders.map { PolicyExplainer.SourcedProvider($0, source: "configuration") }
        for p in snapshot.providers.providers {
            let entry = PolicyExplainer.SourcedProvider(p, source: "database")
            if let i = providers.firstIndex(where: { $0.provider.name == p.name }) { providers[i] = entry } else { providers.append(entry) }
        }
        for p in services.catalog(snapshot) where p.isLocal && !providers.contains(where: { $0.provider.isLocal }) {
            providers.append(.init(p, source: "local engine"))
        }
        let explained = explainer.explain(snapshot: snapshot, tenant: tenant, model: o["model"]?.stringValue,
                                          classification: o["classification"]?.stringValue, scanned: scanned,
                                          defaultPolicy: services.defaultPolicy.policy,
                                          defaultPolicyPath: services.configuration.defaultPolicy, providers: providers)
        return StatusRoutes.json(.ok, explained.jsonValue)
    }

    private func authorize(_ request: Request, expected: [UInt8]) throws {
        guard let header = request.headers[.authorization], header.lowercased().hasPrefix("bearer "), header.count > 7 else {
            throw AirlockError(.invalidAPIKey, "Missing admin token: send 'Authorization: Bearer <AIRLOCK_ADMIN_TOKEN>'")
        }
        let presented = String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)
        let digest = Array(SHA256.hash(data: Data(presented.utf8)))
        // Constant time over the fixed-length digests.
        var difference: UInt8 = 0
        for (a, b) in zip(digest, expected) { difference |= a ^ b }
        guard difference == 0 else { throw AirlockError(.invalidAPIKey, "Incorrect admin token") }
    }

    static func error(_ status: HTTPResponse.Status, _ code: String, _ message: String) -> Response {
        StatusRoutes.json(status, ["error": ["message": .string(message), "type": "invalid_request_error", "code": .string(code)]])
    }
}
