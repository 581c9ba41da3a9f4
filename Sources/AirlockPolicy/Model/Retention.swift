/// How long the audit trail keeps what it wrote about a request (used by the audit and
/// retention jobs; the policy only states it).
public struct Retention: Sendable, Hashable, Codable, CustomStringConvertible {
    /// Days to keep audit metadata (entity types, counts, fingerprints, route). ≥ 1.
    public var auditDays: Int
    /// Days to keep captured payloads; 0 keeps none. At most `auditDays`.
    public var payloadDays: Int
    /// Whether encrypted request/response payloads are captured at all.
    public var capturePayloads: Bool
    /// Refuse requests (503 `audit_unavailable`) when the audit record cannot be written.
    public var failClosed: Bool

    public init(auditDays: Int = 90, payloadDays: Int = 0, capturePayloads: Bool = false, failClosed: Bool = false) {
        self.auditDays = auditDays
        self.payloadDays = payloadDays
        self.capturePayloads = capturePayloads
        self.failClosed = failClosed
    }

    public static let `default` = Retention()

    /// Whether payloads are actually kept: captured and for at least a day.
    public var keepsPayloads: Bool { capturePayloads && payloadDays > 0 }

    /// A short stable label for audit rows and headers, e.g. `audit-365d.payload-30d.fail-closed`.
    public var retentionClass: String {
        var s = "audit-\(auditDays)d.payload-" + (keepsPayloads ? "\(payloadDays)d" : "none")
        if failClosed { s += ".fail-closed" }
        return s
    }

    public var description: String { retentionClass }

    enum CodingKeys: String, CodingKey {
        case auditDays = "audit_days", payloadDays = "payload_days", capturePayloads = "capture_payloads", failClosed = "fail_closed"
    }
}
