import AirlockAudit
import AirlockCore
import AirlockDetect
import AirlockPolicy
import Foundation

/// What the pipeline learned about one call, turned into one audit event at the end.
struct CallRecord: Sendable {
    var tenantID: String
    var keyID: String?
    var requestID: String
    var endpoint: String
    var model: String?
    var receivedAt = Date()
    var firstByteAt: Date?
    var provider: String?
    var region: String?
    var routeReason: String?
    var decision: AuditEvent.Decision = .allowed
    var firedRuleIDs: [String] = []
    var policyVersion: Int?
    var entityCounts: [EntityType: Int] = [:]
    var fingerprints: [String] = []
    /// Findings whose fingerprints are still to be made; `event` makes them.
    var pendingFingerprints: PendingFingerprints?
    var usage: AuditEvent.Usage?
    var costUSD: Double?
    var avoidedCostUSD: Double?
    var status: Int?
    var errorCode: String?
    var clientAddress: String?
    var capturePayload = false
    var failClosed = false
    var requestBody: [UInt8] = []
    var responseBody: [UInt8] = []

    /// The call's event, its pending fingerprints made now.
    var event: AuditEvent {
        var event = eventLeavingFingerprints
        pendingFingerprints?.fill(&event)
        return event
    }

    /// The event without its pending fingerprints, for a caller that makes them later
    /// (`DeferredAuditEvent`, once the answer has left).
    var eventLeavingFingerprints: AuditEvent {
        AuditEvent(tenantID: tenantID, keyID: keyID, requestID: requestID, endpoint: endpoint, requestedModel: model,
                   provider: provider, region: region, routeReason: routeReason, decision: decision, firedRuleIDs: firedRuleIDs,
                   policyVersion: policyVersion, entityCounts: entityCounts, fingerprints: fingerprints, usage: usage,
                   costUSD: costUSD, avoidedCostUSD: avoidedCostUSD, receivedAt: receivedAt, firstByteAt: firstByteAt,
                   completedAt: Date(), status: status, errorCode: errorCode, clientAddress: clientAddress,
                   payload: capturePayload ? AuditPayload(request: requestBody, response: responseBody) : nil)
    }

    mutating func fail(_ error: AirlockError) {
        status = error.httpStatus
        errorCode = error.code.rawValue
        if error.code == .piiBlocked { decision = .blocked }
        else if decision != .blocked { decision = .failed }
    }

    /// Token counts from an OpenAI `usage` object (incl. cached and reasoning details).
    mutating func absorbUsage(_ usage: JSONValue?) {
        guard let usage, usage.objectValue != nil else { return }
        self.usage = AuditEvent.Usage(
            promptTokens: usage["prompt_tokens"]?.intValue ?? 0,
            cachedPromptTokens: usage["prompt_tokens_details"]?["cached_tokens"]?.intValue ?? usage["prompt_cache_hit_tokens"]?.intValue ?? 0,
            completionTokens: usage["completion_tokens"]?.intValue ?? 0,
            reasoningTokens: usage["completion_tokens_details"]?["reasoning_tokens"]?.intValue ?? 0)
    }

    /// Cost from the serving model's price; for local answers, what the cheapest remote
    /// provider of the requested model would have charged.
    mutating func price(servedBy provider: ProviderConfig?, servedModel: String?, requested: String, catalog: [ProviderConfig], local: Bool) {
        guard let usage else { return }
        func cost(_ price: TokenPrice) -> Double {
            price.cost(inputTokens: usage.promptTokens, cachedInputTokens: usage.cachedPromptTokens, outputTokens: usage.completionTokens)
        }
        if local {
            costUSD = 0
            let prices = catalog.filter { !$0.isLocal }.compactMap { $0.model(serving: requested)?.price }
            avoidedCostUSD = prices.map(cost).min()
        } else if let price = provider?.model(serving: servedModel ?? requested)?.price {
            costUSD = cost(price)
        }
    }
}

/// The request's findings, kept so their HMAC fingerprints (only the audit row needs them)
/// are made after the answer has left rather than while the client waits.
struct PendingFingerprints: Sendable {
    let located: [LocatedFinding]
    let request: JSONValue
    let operators: Operators

    func fill(_ event: inout AuditEvent) {
        event.fingerprints = RequestTransformer.fingerprints(of: located, in: request, operators: operators)
    }

    /// `fill` as the audit writer's completion.
    var completion: AuditWriter.Completion {
        let pending = self
        return { (event: inout AuditEvent) in pending.fill(&event) }
    }
}

extension AuditWriter {
    /// Queues the call's event; its pending fingerprints are made on the writer's thread.
    func record(_ call: CallRecord) {
        record(call.eventLeavingFingerprints, completing: call.pendingFingerprints?.completion)
    }
}
