import AirlockCore
import Foundation

/// JSON Lines and CSV forms of a stored event, for `airlock audit export` and search output.
extension AuditRecord {
    public static let csvHeader = "event_id,chain_id,seq,tenant_id,received_at,completed_at,kind,key_id,request_id,endpoint,requested_model,provider,region,route_reason,decision,rule_ids,policy_version,entities,fingerprints,prompt_tokens,cached_prompt_tokens,completion_tokens,reasoning_tokens,cost_usd,avoided_cost_usd,latency_ms,status,error_code,client_address,actor,target,details,hash"

    static func iso(_ micros: Int64?) -> String? {
        guard let micros else { return nil }
        var out: [UInt8] = []
        UTCDay.appendTimestamp(micros, to: &out)
        // "YYYY-MM-DD HH:MM:SS.ffffff+00" → RFC 3339
        out[10] = UInt8(ascii: "T")
        out.removeLast(3)
        out.append(UInt8(ascii: "Z"))
        return String(decoding: out, as: UTF8.self)
    }

    public var json: JSONValue {
        func s(_ v: String?) -> JSONValue { v.map(JSONValue.string) ?? .null }
        func i(_ v: Int64?) -> JSONValue { v.map { .number(String($0)) } ?? .null }
        func d(_ v: Double?) -> JSONValue { v.map(JSONValue.double) ?? .null }
        return .object(JSONObject([
            ("event_id", .string(eventID.uuidString.lowercased())), ("chain_id", .string(chainID)), ("seq", i(seq)),
            ("tenant_id", .string(tenantID)), ("received_at", s(Self.iso(receivedAt))), ("first_byte_at", s(Self.iso(firstByteAt))),
            ("completed_at", s(Self.iso(completedAt))), ("kind", .string(kind == 1 ? "admin" : "request")), ("key_id", s(keyID)),
            ("request_id", .string(requestID)), ("endpoint", .string(endpoint)), ("requested_model", s(requestedModel)),
            ("provider", s(provider)), ("region", s(region)), ("route_reason", s(routeReason)), ("decision", .string(decision)),
            ("rule_ids", .array(ruleIDs.map(JSONValue.string))), ("policy_version", i(policyVersion)),
            ("entities", .object(JSONObject(zip(entityTypes, entityCounts).map { ($0, .number(String($1))) }))),
            ("fingerprints", .array(fingerprints.map(JSONValue.string))),
            ("prompt_tokens", i(promptTokens)), ("cached_prompt_tokens", i(cachedPromptTokens)),
            ("completion_tokens", i(completionTokens)), ("reasoning_tokens", i(reasoningTokens)),
            ("cost_usd", d(costUSD)), ("avoided_cost_usd", d(avoidedCostUSD)), ("latency_ms", i(latencyMs)), ("status", i(status)),
            ("error_code", s(errorCode)), ("client_address", s(clientAddress)), ("actor", s(actor)), ("target", s(target)),
            ("details", s(details)), ("payload_captured", .bool(payloadDigest != nil)), ("hash", .string(Hex.encode(hash))),
        ]))
    }

    public var csvLine: String {
        func q(_ v: String?) -> String {
            guard var v else { return "" }
            // Client-chosen text (model names, request ids) must open as text, not as a formula,
            // when a compliance officer loads the export into a spreadsheet (CSV injection).
            if let first = v.unicodeScalars.first, "=+-@\t\r".unicodeScalars.contains(first) { v = "'" + v }
            if v.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) {
                return "\"" + v.replacingOccurrences(of: "\"", with: "\"\"") + "\""
            }
            return v
        }
        func n(_ v: Int64?) -> String { v.map(String.init) ?? "" }
        func d(_ v: Double?) -> String { v.map { "\($0)" } ?? "" }
        let entities = zip(entityTypes, entityCounts).map { "\($0)=\($1)" }.joined(separator: ";")
        let fields: [String] = [
            eventID.uuidString.lowercased(), q(chainID), String(seq), q(tenantID), Self.iso(receivedAt) ?? "", Self.iso(completedAt) ?? "",
            kind == 1 ? "admin" : "request", q(keyID), q(requestID), q(endpoint), q(requestedModel), q(provider), q(region),
            q(routeReason), q(decision), q(ruleIDs.joined(separator: ";")), n(policyVersion), q(entities),
            q(fingerprints.joined(separator: ";")), n(promptTokens), n(cachedPromptTokens), n(completionTokens), n(reasoningTokens),
            d(costUSD), d(avoidedCostUSD), n(latencyMs), n(status), q(errorCode), q(clientAddress), q(actor), q(target), q(details),
            Hex.encode(hash),
        ]
        return fields.joined(separator: ",")
    }
}
