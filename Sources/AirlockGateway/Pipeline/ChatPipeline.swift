import AirlockAudit
import AirlockCore
import AirlockDetect
import AirlockPolicy
import AirlockStore
import AirlockUpstream
import Foundation
import Hummingbird
import Logging
import NIOCore

/// `POST /v1/chat/completions`: authenticate → parse → scan → decide → transform → route →
/// stream back (restore + output scan) → audit. Each step is a small function; this type
/// only composes them and makes sure every call ends in exactly one audit event.
struct ChatPipeline: Sendable {
    let services: GatewayServices

    struct Principal: Sendable {
        var tenantID: String
        var keyID: String?
    }

    func handle(_ request: Request, context: AirlockRequestContext) async throws -> Response {
        var record = CallRecord(tenantID: "_anonymous", requestID: context.requestID, endpoint: "/v1/chat/completions")
        record.clientAddress = context.remoteAddressText
        var headers = HTTPFields()
        do {
            return try await run(request, context: context, record: &record, headers: &headers)
        } catch {
            let airlock = OpenAIErrorMiddleware.map(error)
            record.fail(airlock)
            OpenAIErrorMiddleware.log(airlock, logger: context.logger)
            // Unauthenticated noise is not a tenant's call; everything else is audited.
            if airlock.code != .invalidAPIKey { services.audit?.record(record) }
            // Refusals carry the decision and policy headers like answers do.
            var response = OpenAIErrorMiddleware.response(for: airlock, requestID: context.requestID)
            for field in headers { response.headers.append(field) }
            return response
        }
    }

    private func run(_ request: Request, context: AirlockRequestContext, record: inout CallRecord, headers: inout HTTPFields) async throws -> Response {
        let (principal, snapshot) = try await authenticate(request)
        record.tenantID = principal.tenantID
        record.keyID = principal.keyID

        let bytes = try await RequestBody.collect(request, context: context, limits: services.configuration.limits)
        let chat = try ChatRequest.parse(bytes)
        record.model = chat.model

        let active = snapshot.activePolicy(tenant: principal.tenantID)
        let evaluator = active.map { services.governance.evaluator(for: $0) } ?? services.defaultPolicy
        record.policyVersion = active?.version
        try services.limiter.admit(tenant: principal.tenantID, limits: evaluator.policy.limits)

        // Scan and decide.
        let operators = services.operators(tenant: principal.tenantID)
        let transformer = RequestTransformer(scanner: services.scanner, operators: operators)
        let original = JSONValue.object(chat.body)
        let located = transformer.scan(request: original)
        let requestContext = RequestContext(tenant: principal.tenantID, model: chat.model,
                                            classification: request.headers.value(.airlockClassification),
                                            callerRegion: nil)
        var decision = evaluator.evaluate(findings: located.map(\.finding), request: requestContext)
        var shadow: Decision?
        // A policy in shadow mode is only recorded; the tenant's last enforce-mode version (the
        // default policy when it never had one) keeps being enforced until the team switches
        // the new one to `enforce`.
        let previous = decision.mode == .shadow ? snapshot.previousEnforcedPolicy(tenant: principal.tenantID) : nil
        if decision.mode == .shadow {
            shadow = decision
            let baseline = previous.map { services.governance.evaluator(for: $0) } ?? services.defaultPolicy
            decision = baseline.evaluate(findings: located.map(\.finding), request: requestContext)
            decision.mode = .enforce
        }
        record.firedRuleIDs = decision.firedRuleIDs + (shadow?.firedRuleIDs.map { "shadow:" + $0 } ?? [])
        record.capturePayload = decision.retention.capturePayloads
        record.failClosed = decision.retention.failClosed
        if record.capturePayload { record.requestBody = bytes }
        for f in located { record.entityCounts[f.finding.type, default: 0] += 1 }

        headers[.airlockDecision] = decision.headerValue
        headers[.airlockPolicyVersion] = active.map { "\($0.policy.name)@v\($0.version)" } ?? "\(evaluator.policy.name)@builtin"
        if let shadow {
            headers[.airlockShadowDecision] = shadow.headerValue
            let enforcedName = previous.map { "\($0.policy.name)@v\($0.version)" } ?? "\(services.defaultPolicy.policy.name)@builtin"
            headers[.airlockPolicyVersion] = "\(enforcedName) (shadow: \(active.map { "\($0.policy.name)@v\($0.version)" } ?? "?"))"
        }

        if decision.isBlocked {
            record.decision = .blocked
            services.metrics.call(tenant: principal.tenantID, decision: .blocked, entities: record.entityCounts)
            record.fingerprints = RequestTransformer.fingerprints(of: located, in: original, operators: operators)
            throw AirlockError(.piiBlocked, "Request blocked by policy rule \(decision.blockedBy.map { "'\($0)'" }.joined(separator: ", ")): it contains data that may not leave")
        }

        // Fail-closed: a streamed answer cannot be withheld after it starts, so the audit
        // path must be able to persist before anything is sent.
        if record.failClosed, chat.stream, let audit = services.audit, !audit.canPersist {
            throw AirlockError(.auditUnavailable, "The call cannot be audited right now and the policy requires audit")
        }

        // Route only among permitted destinations.
        let providers = services.catalog(snapshot)
        let plan = RoutePlanner(providers: providers).plan(decision: decision, model: chat.model, health: services.health.snapshot,
                                                           seed: UInt64(truncatingIfNeeded: context.requestID.hashValue))
        if let refusal = plan.refusal { throw refusal.airlockError }

        // Transform what leaves: one action per entity type, the policy's strongest.
        var strongest: [EntityType: PolicyAction] = [:]
        for (item, fd) in zip(located, decision.findings) where !fd.ignored {
            if let current = strongest[item.finding.type], current >= fd.action { continue }
            strongest[item.finding.type] = fd.action
        }
        let table = strongest.mapValues { Action(rawValue: $0.rawValue) ?? .redact }
        var vault = Vault()
        // Nothing found, nothing to rewrite: a clean prompt is not walked a second time.
        // Fingerprints are for the audit row only: made once the answer has left (`CallRecord`).
        let transformed = located.isEmpty ? nil
            : transformer.transform(request: original, located: located, actions: { table[$0] ?? .allow }, vault: &vault,
                                    fingerprints: false)
        let entries = transformed?.summary.entries ?? []
        if !located.isEmpty { record.pendingFingerprints = PendingFingerprints(located: located, request: original, operators: operators) }
        record.decision = entries.contains { $0.action != .allow } ? .transformed : .allowed
        services.metrics.call(tenant: principal.tenantID, decision: record.decision, entities: record.entityCounts)
        guard case .object(var outgoing) = transformed?.request ?? original else { throw AirlockError(.internalError, "request transformation failed") }

        // The model's own output is scanned too: credentials it produces are redacted.
        let outputActions: @Sendable (EntityType) -> Action = Action.forModelOutput
        let finalVault = vault
        let scanner = services.scanner
        let rewriterFactory = { @Sendable () -> ChatStreamRewriter in
            ChatStreamRewriter(vault: finalVault, scanner: scanner, operators: operators, actions: outputActions)
        }
        let restorer = ResponseRestorer(vault: finalVault, scanner: services.scanner, operators: operators, actions: outputActions)

        var lastError = AirlockError(.upstreamError, "no provider available")
        for candidate in plan.candidates {
            record.provider = candidate.provider
            record.region = candidate.region.value
            record.routeReason = Self.routeReason(candidate, decision: decision, first: candidate == plan.candidates.first)
            headers[.airlockRoute] = candidate.headerValue
            outgoing["model"] = .string(candidate.model)
            if candidate.isLocal, let engine = services.localEngine {
                let local = LocalChatResponder(engine: engine, modelName: candidate.model)
                // Nothing leaves the host, so the engine answers the original prompt.
                var localBody = chat.body
                localBody["model"] = .string(candidate.model)
                return try await LocalRelay(services: services).respond(local, body: localBody, chat: chat, headers: headers,
                                                                       record: record, rewriter: rewriterFactory, restorer: restorer,
                                                                       providers: providers, context: context)
            }
            guard let endpoint = services.endpoint(for: candidate, in: providers) else { continue }
            var body = outgoing
            if chat.stream {
                // Usage is always asked for, so the audit gets token counts; the extra chunk
                // is dropped again if the client did not ask.
                var options = body["stream_options"]?.objectValue ?? JSONObject()
                options["include_usage"] = true
                body["stream_options"] = .object(options)
            }
            let sentAt = ContinuousClock.now
            do {
                let response = try await services.upstream.post(endpoint, path: "/chat/completions", body: JSONValue.object(body).serializedBytes,
                                                                 requestID: context.requestID, logger: context.logger,
                                                                 streaming: chat.stream, on: context.channel.eventLoop)
                services.metrics.upstream(provider: candidate.provider, status: response.status, seconds: GatewayMetrics.seconds(.now - sentAt))
                if response.status >= 500 || response.status == 429 { services.metrics.upstreamError(provider: candidate.provider, code: "status_\(response.status)") }
                if response.status >= 500 || response.status == 429 && plan.candidates.count > 1 {
                    _ = try? await response.collect(upTo: 1 << 20)
                    services.health.recordFailure(candidate.provider)
                    lastError = AirlockError(.upstreamError, "provider '\(candidate.provider)' failed with status \(response.status)")
                    context.logger.warning("provider failed; trying next permitted candidate", metadata: ["provider": .string(candidate.provider), "status": "\(response.status)"])
                    continue
                }
                services.health.recordSuccess(candidate.provider)
                let provider = providers.first { $0.name == candidate.provider }
                return try await RemoteRelay(services: services).relay(response, candidate: candidate, provider: provider, chat: chat,
                                                                      headers: headers, record: record, rewriter: rewriterFactory,
                                                                      restorer: restorer, providers: providers, context: context)
            } catch let error as AirlockError where error.code == .upstreamError || error.code == .upstreamTimeout {
                services.health.recordFailure(candidate.provider)
                services.metrics.upstreamError(provider: candidate.provider, code: error.code.rawValue)
                context.logger.warning("provider unreachable; trying next permitted candidate", metadata: ["provider": .string(candidate.provider), "code": .string(error.code.rawValue)])
                lastError = error
            }
        }
        throw lastError
    }

    /// The caller and the snapshot to enforce. A key this instance does not know yet while a
    /// notified change is being loaded (e.g. `airlock key create` just returned) waits for
    /// that reload, at most 2 s, instead of being refused.
    func authenticate(_ request: Request) async throws(AirlockError) -> (Principal, GovernanceSnapshot) {
        var snapshot = try services.governance.current()
        guard let key = try presentedKey(request) else { return (Principal(tenantID: "default", keyID: nil), snapshot) }
        var auth = snapshot.authenticate(presentedKey: key)
        if auth == nil, await services.governance.waitForPendingReload(upTo: .seconds(2)) {
            snapshot = try services.governance.current()
            auth = snapshot.authenticate(presentedKey: key)
        }
        return (try principal(auth), snapshot)
    }

    /// The bearer token; nil when there is none and the configuration does not require one.
    private func presentedKey(_ request: Request) throws(AirlockError) -> String? {
        let header = request.headers.value(.authorization)
        guard let header, header.utf8.count > 7, header.utf8.prefix(7).elementsEqual("bearer ".utf8, by: { ($0 >= 65 && $0 <= 90 ? $0 + 32 : $0) == $1 }) else {
            if !services.configuration.auth.required { return nil }
            throw AirlockError(.invalidAPIKey, "Missing API key: send 'Authorization: Bearer <key>'")
        }
        // ASCII work on the UTF-8 view: this runs for every call (Foundation's trimming was ~1% of a clean call).
        var token = header.utf8.dropFirst(7)
        while let first = token.first, first == 0x20 || first == 0x09 { token.removeFirst() }
        while let last = token.last, last == 0x20 || last == 0x09 { token.removeLast() }
        return String(Substring(token))
    }

    private func principal(_ auth: AuthenticatedKey?) throws(AirlockError) -> Principal {
        guard let auth else { throw AirlockError(.invalidAPIKey, "Incorrect API key provided") }
        guard !auth.revoked else { throw AirlockError(.invalidAPIKey, "This API key has been revoked") }
        guard !auth.tenantDisabled else { throw AirlockError(.invalidAPIKey, "This API key's tenant is disabled") }
        return Principal(tenantID: auth.tenantID, keyID: auth.keyID)
    }

    static func routeReason(_ c: RouteCandidate, decision: Decision, first: Bool) -> String {
        if c.isLocal {
            switch decision.local {
            case .required: return "policy requires local"
            case .preferred: return "policy prefers local"
            default: return "failover to local"
            }
        }
        if !decision.residencyRuleIDs.isEmpty { return "residency: \(decision.destinationSummary)" }
        return first ? "primary" : "failover"
    }
}

extension AirlockRequestContext {
    var remoteAddressText: String? {
        guard let address = remoteAddress else { return nil }
        return address.ipAddress
    }
}
