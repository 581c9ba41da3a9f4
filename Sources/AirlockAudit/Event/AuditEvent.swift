import AirlockCore
import Foundation

/// One audited call (or administrative action): what the gateway decided and where the
/// data went. It never holds a raw finding value — only entity types, counts and HMAC
/// fingerprints — so rows, logs and exports stay free of personal data. Prompt and answer
/// bodies travel separately in `payload`, are encrypted by the writer and stored apart.
public struct AuditEvent: Sendable, Equatable {
    public enum Kind: UInt8, Sendable, Equatable {
        case request = 0
        case admin = 1
    }

    /// The outcome of the call as reported to compliance.
    public enum Decision: String, Sendable, Equatable, CaseIterable {
        case allowed
        case transformed  // redacted or pseudonymized before leaving
        case blocked
        case failed       // upstream or internal failure after the decision
        case admin        // administrative action
    }

    public struct Usage: Sendable, Equatable {
        public var promptTokens: Int
        public var cachedPromptTokens: Int
        public var completionTokens: Int
        public var reasoningTokens: Int
        public init(promptTokens: Int = 0, cachedPromptTokens: Int = 0, completionTokens: Int = 0, reasoningTokens: Int = 0) {
            self.promptTokens = promptTokens
            self.cachedPromptTokens = cachedPromptTokens
            self.completionTokens = completionTokens
            self.reasoningTokens = reasoningTokens
        }
    }

    public var id: UUID
    public var kind: Kind
    public var tenantID: String
    public var keyID: String?
    public var requestID: String
    /// `/v1/chat/completions`, or the admin action name for admin events.
    public var endpoint: String
    public var requestedModel: String?
    public var provider: String?
    /// Destination region (`local` for the in-process engine).
    public var region: String?
    public var routeReason: String?
    public var decision: Decision
    public var firedRuleIDs: [String]
    public var policyVersion: Int?
    /// Entity type → number of findings.
    public var entityCounts: [EntityType: Int]
    /// HMAC fingerprints of finding values (computed by the scanner), never the values.
    public var fingerprints: [String]
    public var usage: Usage?
    /// What the call cost, from the provider's price table.
    public var costUSD: Double?
    /// For local answers: what the requested remote model would have cost.
    public var avoidedCostUSD: Double?
    public var receivedAt: Date
    public var firstByteAt: Date?
    public var completedAt: Date?
    /// Defaults to completedAt − receivedAt when nil.
    public var latencyMs: Int?
    public var status: Int?
    public var errorCode: String?
    public var clientAddress: String?
    /// Admin events: who did what to which object; `details` must hold no personal data.
    public var actor: String?
    public var target: String?
    public var details: [String: String]
    /// Plain prompt/answer bodies to capture (policy `capture_payloads`); the writer encrypts
    /// them and only their ciphertext digest enters the hash chain.
    public var payload: AuditPayload?

    public init(id: UUID = RandomPool.shared.uuid(), kind: Kind = .request, tenantID: String, keyID: String? = nil, requestID: String,
                endpoint: String = "/v1/chat/completions", requestedModel: String? = nil, provider: String? = nil,
                region: String? = nil, routeReason: String? = nil, decision: Decision, firedRuleIDs: [String] = [],
                policyVersion: Int? = nil, entityCounts: [EntityType: Int] = [:], fingerprints: [String] = [],
                usage: Usage? = nil, costUSD: Double? = nil, avoidedCostUSD: Double? = nil,
                receivedAt: Date = Date(), firstByteAt: Date? = nil, completedAt: Date? = nil, latencyMs: Int? = nil,
                status: Int? = nil, errorCode: String? = nil, clientAddress: String? = nil,
                actor: String? = nil, target: String? = nil, details: [String: String] = [:], payload: AuditPayload? = nil) {
        self.id = id
        self.kind = kind
        self.tenantID = tenantID
        self.keyID = keyID
        self.requestID = requestID
        self.endpoint = endpoint
        self.requestedModel = requestedModel
        self.provider = provider
        self.region = region
        self.routeReason = routeReason
        self.decision = decision
        self.firedRuleIDs = firedRuleIDs
        self.policyVersion = policyVersion
        self.entityCounts = entityCounts
        self.fingerprints = fingerprints
        self.usage = usage
        self.costUSD = costUSD
        self.avoidedCostUSD = avoidedCostUSD
        self.receivedAt = receivedAt
        self.firstByteAt = firstByteAt
        self.completedAt = completedAt
        self.latencyMs = latencyMs
        self.status = status
        self.errorCode = errorCode
        self.clientAddress = clientAddress
        self.actor = actor
        self.target = target
        self.details = details
        self.payload = payload
    }

    /// An administrative action (policy apply, key create/revoke, provider change, retention
    /// run, legal hold). `tenantID` is the tenant concerned, or `_system` for global actions.
    public static func admin(action: String, actor: String, tenantID: String = AuditEvent.systemTenant, target: String? = nil,
                             details: [String: String] = [:], at date: Date = Date()) -> AuditEvent {
        AuditEvent(kind: .admin, tenantID: tenantID, requestID: UUID().uuidString.lowercased(), endpoint: action,
                   decision: .admin, receivedAt: date, completedAt: date, latencyMs: 0, actor: actor, target: target, details: details)
    }

    /// Tenant id used for actions not tied to one tenant.
    public static let systemTenant = "_system"
}

/// Prompt and answer bodies captured for an event, in clear until the writer seals them.
public struct AuditPayload: Sendable, Equatable {
    public var request: [UInt8]
    public var response: [UInt8]
    public init(request: [UInt8], response: [UInt8]) {
        self.request = request
        self.response = response
    }
    public init(request: String, response: String) {
        self.init(request: Array(request.utf8), response: Array(response.utf8))
    }
}
