import AirlockAudit
import AirlockCore
import Foundation
import Hummingbird
import NIOCore

/// The audit explorer: filters (tenant, time, decision, entity type, provider, region,
/// model), newest first with paging, one call's full record, CSV/JSONL export of the filtered
/// set, and — for admins holding the payload key — the decrypted bodies, itself audited.
struct ConsoleAuditPages: Sendable {
    static let pageSize = 100

    /// Filters from the query string, validated the way `airlock audit search` validates them.
    static func filters(_ q: ConsoleForm) throws -> AuditQuery {
        if let d = q["decision"], AuditEvent.Decision(rawValue: d) == nil {
            throw ConsoleError(.badRequest, "Unknown decision. Expected one of: \(AuditEvent.Decision.allCases.map(\.rawValue).joined(separator: ", ")).")
        }
        var query = AuditQuery(tenantID: q["tenant"], decision: q["decision"], entityType: q["entity"]?.uppercased(), provider: q["provider"],
                               region: q["region"]?.lowercased(), model: q["model"])
        if let text = q["from"] {
            guard let d = ConsoleDates.parse(text) else { throw ConsoleError(.badRequest, "'From' is not a date (use 2026-11-01 or 2026-11-01T08:00).") }
            query.from = d
        }
        if let text = q["to"] {
            guard let d = ConsoleDates.parse(text) else { throw ConsoleError(.badRequest, "'To' is not a date (use 2026-11-01 or 2026-11-01T08:00).") }
            query.to = d
        }
        return query
    }

    static func filterPairs(_ q: ConsoleForm) -> [(String, String?)] {
        ["tenant", "from", "to", "decision", "entity", "provider", "region", "model"].map { ($0, q[$0]) }
    }

    func list(_ r: ConsoleRequest) async throws -> Response {
        var query = try Self.filters(r.query)
        // Paging: `before` is the received time (µs) of the last row shown.
        if let before = r.query["before"].flatMap(Int64.init) {
            let d = Date(timeIntervalSince1970: Double(before) / 1_000_000)
            query.to = query.to.map { min($0, d) } ?? d
        }
        query.limit = Self.pageSize
        let rows = try await AuditReader(client: r.deps.client, logger: r.context.logger).search(query)
        let q = r.query
        let tenants = (try? r.services.governance.current().tenants.keys.sorted()) ?? []

        var body = "<h1>Audit explorer</h1><p class=\"sub\">One row per call and per administrative action, newest first. Values found in prompts are never stored: only entity types, counts and keyed fingerprints.</p>"
        body += "<form class=\"filters\" method=\"get\" action=\"/console/audit\">"
        body += "<label>Tenant<select name=\"tenant\"><option value=\"\">All</option>"
        for t in tenants { body += "<option\(t == q["tenant"] ? " selected" : "") value=\"\(ConsoleHTML.escape(t))\">\(ConsoleHTML.escape(t))</option>" }
        body += "</select></label>"
        body += "<label>From (UTC)<input type=\"datetime-local\" name=\"from\" value=\"\(ConsoleHTML.escape(ConsoleDates.inputValue(query.from)))\"></label>"
        body += "<label>To (UTC)<input type=\"datetime-local\" name=\"to\" value=\"\(ConsoleHTML.escape(ConsoleDates.inputValue(ConsoleDates.parse(q["to"]))))\"></label>"
        body += "<label>Decision<select name=\"decision\"><option value=\"\">Any</option>"
        for d in AuditEvent.Decision.allCases { body += "<option\(d.rawValue == q["decision"] ? " selected" : "")>\(d.rawValue)</option>" }
        body += "</select></label>"
        body += "<label>Entity type<input name=\"entity\" list=\"entity-types\" size=\"16\" value=\"\(ConsoleHTML.escape(q["entity"] ?? ""))\"></label><datalist id=\"entity-types\">"
        for e in EntityType.allCases { body += "<option value=\"\(ConsoleHTML.escape(e.rawValue))\"></option>" }
        body += "</datalist>"
        for (name, title, size) in [("provider", "Provider", 12), ("region", "Region", 8), ("model", "Model", 14)] {
            body += "<label>\(title)<input name=\"\(name)\" size=\"\(size)\" value=\"\(ConsoleHTML.escape(q[name] ?? ""))\"></label>"
        }
        body += "<button type=\"submit\">Filter</button><a class=\"button secondary\" href=\"/console/audit\">Clear</a></form>"

        let pairs = Self.filterPairs(q)
        body += "<div class=\"actions\"><span>\(rows.count == Self.pageSize ? "Newest \(Self.pageSize) matching rows" : "\(rows.count) matching row\(rows.count == 1 ? "" : "s")")\(r.query["before"] != nil ? " (older page)" : "")</span>"
        body += "<a class=\"button secondary\" \(ConsoleHTML.href("/console/audit/export", pairs + [("format", "csv")]))>Export CSV</a>"
        body += "<a class=\"button secondary\" \(ConsoleHTML.href("/console/audit/export", pairs + [("format", "jsonl")]))>Export JSONL</a></div>"

        if rows.isEmpty {
            body += "<div class=\"card\"><p class=\"empty\">No audit rows match these filters.</p></div>"
        } else {
            body += "<div class=\"card\"><table><thead><tr><th>Received</th><th>Tenant</th><th>Decision</th><th>Model</th><th>Route</th><th>Entities</th><th class=\"num\">Tokens</th><th class=\"num\">Cost</th><th>Status</th><th></th></tr></thead><tbody>"
            for row in rows {
                let received = ConsoleHTML.timestamp(row.receivedDate)
                let entities = zip(row.entityTypes, row.entityCounts).map { "\(ConsoleHTML.escape($0))×\($1)" }.joined(separator: ", ")
                let route = row.kind == 1 ? ConsoleHTML.escape(row.endpoint) : ConsoleHTML.escape([row.provider, row.region].compactMap { $0 }.joined(separator: " / "))
                let tokens = (row.promptTokens ?? 0) + (row.completionTokens ?? 0)
                body += "<tr><td class=\"mono\">\(received)</td><td>\(ConsoleHTML.escape(row.tenantID))</td><td>\(ConsolePage.badge(row.decision))\(row.region == "local" ? " <span class=\"badge local\">local</span>" : "")</td>"
                body += "<td>\(ConsoleHTML.escape(row.requestedModel ?? "–"))</td><td>\(route.isEmpty ? "–" : route)</td><td>\(entities.isEmpty ? "–" : entities)</td>"
                body += "<td class=\"num\">\(tokens > 0 ? ConsoleHTML.count(Int(tokens)) : "–")</td><td class=\"num\">\(row.costUSD.map(ConsoleHTML.money) ?? "–")</td>"
                body += "<td>\(row.status.map(String.init) ?? "–")</td><td><a \(ConsoleHTML.href("/console/audit/event/" + row.eventID.uuidString.lowercased()))>Open</a></td></tr>"
            }
            body += "</tbody></table></div>"
            if rows.count == Self.pageSize, let last = rows.last {
                body += "<p><a class=\"button secondary\" \(ConsoleHTML.href("/console/audit", pairs + [("before", String(last.receivedAt))]))>Older rows →</a></p>"
            }
        }
        return r.page(title: "Audit", section: "/console/audit", body)
    }

    /// Streams every matching row (constant memory) as CSV or JSON Lines, like `airlock audit export`.
    func export(_ r: ConsoleRequest) async throws -> Response {
        let query = try Self.filters(r.query)
        let csv = r.query["format"] == "csv"
        guard csv || r.query["format"] == "jsonl" else { throw ConsoleError(.badRequest, "Export format must be csv or jsonl.") }
        var details: [String: String] = ["format": csv ? "csv" : "jsonl"]
        for (k, v) in Self.filterPairs(r.query) { if let v { details[k] = v } }
        try await r.record("console.audit.export", tenant: query.tenantID ?? AuditEvent.systemTenant, details: details)
        let reader = AuditReader(client: r.deps.client, logger: r.context.logger)
        var headers = ConsolePage.headers(contentType: csv ? "text/csv; charset=utf-8" : "application/x-ndjson")
        let stamp = ConsoleHTML.timestamp(Date()).replacingOccurrences(of: " ", with: "T").replacingOccurrences(of: ":", with: "")
        headers[.contentDisposition] = "attachment; filename=\"airlock-audit-\(stamp).\(csv ? "csv" : "jsonl")\""
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            var buffer = ByteBuffer()
            buffer.reserveCapacity(1 << 16)
            if csv { buffer.writeString(AuditRecord.csvHeader + "\n") }
            try await reader.stream(query) { record in
                buffer.writeString((csv ? record.csvLine : record.json.serialized) + "\n")
                if buffer.readableBytes >= 1 << 16 {
                    try await writer.write(buffer)
                    buffer.clear()
                }
            }
            if buffer.readableBytes > 0 { try await writer.write(buffer) }
            try await writer.finish(nil)
        })
    }

    func event(_ r: ConsoleRequest) async throws -> Response {
        let id = try r.context.parameters.require("id")
        guard let (record, payload) = try await AuditReader(client: r.deps.client, logger: r.context.logger).event(id: id) else {
            throw ConsoleError(.notFound, "No audit event with this id.")
        }
        try await r.record("console.audit.view_event", tenant: record.tenantID, target: record.eventID.uuidString.lowercased())
        return r.page(title: "Audit event", section: "/console/audit", Self.eventBody(record, payload: payload, r: r, decrypted: nil))
    }

    func decrypt(_ r: ConsoleRequest) async throws -> Response {
        let id = try r.context.parameters.require("id")
        guard let key = r.deps.payloadKey else {
            throw ConsoleError(.conflict, "This gateway has no payload key (audit.payload_key_env), so captured bodies cannot be decrypted here.")
        }
        guard let (record, payload) = try await AuditReader(client: r.deps.client, logger: r.context.logger).event(id: id) else {
            throw ConsoleError(.notFound, "No audit event with this id.")
        }
        guard let payload else { throw ConsoleError(.notFound, "No payload was captured for this event (or retention removed it).") }
        // Recorded before anything is decrypted or shown.
        try await r.record("audit.payload.decrypt", tenant: record.tenantID, target: record.eventID.uuidString.lowercased(), details: ["via": "console"])
        let plain = try payload.decrypt(with: key)
        return r.page(title: "Audit event", section: "/console/audit",
                      Self.eventBody(record, payload: payload, r: r, decrypted: (String(decoding: plain.request, as: UTF8.self), String(decoding: plain.response, as: UTF8.self))))
    }

    static func eventBody(_ record: AuditRecord, payload: StoredPayload?, r: ConsoleRequest, decrypted: (String, String)?) -> String {
        let id = record.eventID.uuidString.lowercased()
        var body = "<p><a href=\"/console/audit\">← Audit explorer</a></p><h1>\(record.kind == 1 ? "Administrative action" : "Call") \(ConsolePage.badge(record.decision))</h1>"
        body += "<p class=\"sub mono\">\(ConsoleHTML.escape(id))</p><div class=\"grid\"><div class=\"card\"><h2>Record</h2><dl class=\"kv\">"
        guard case .object(let fields) = record.json else { return body }
        for (key, value) in fields.members {
            let text: String
            switch value {
            case .null: text = "–"
            case .string(let s): text = s
            case .array(let items): text = items.isEmpty ? "–" : items.map { $0.stringValue ?? $0.serialized }.joined(separator: ", ")
            case .object(let o): text = o.members.isEmpty ? "–" : value.serialized
            default: text = value.serialized
            }
            body += "<dt>\(ConsoleHTML.escape(key))</dt><dd>\(ConsoleHTML.escape(text))</dd>"
        }
        body += "</dl></div><div class=\"card\"><h2>Captured bodies</h2>"
        if payload == nil {
            body += "<p class=\"empty\">No prompt or answer was captured for this call (or retention removed it).</p>"
        } else if let (request, response) = decrypted {
            body += "<div class=\"notice\">Decrypted for \(ConsoleHTML.escape(r.session.operatorName)); this access is recorded in the audit log.</div>"
            body += "<h3>Request</h3><pre>\(ConsoleHTML.escape(request))</pre><h3>Response</h3><pre>\(ConsoleHTML.escape(response))</pre>"
        } else if !r.session.isAdmin {
            body += "<p>Bodies were captured and are encrypted. Only admins holding the payload key can decrypt them.</p>"
        } else if r.deps.payloadKey == nil {
            body += "<p>Bodies were captured and are encrypted; this gateway has no payload key, so they cannot be decrypted here.</p>"
        } else {
            body += "<p>Bodies were captured and are encrypted (key \(ConsoleHTML.escape(payload!.keyID))). Decrypting shows personal data and is recorded in the audit log.</p>"
            body += "<form method=\"post\" action=\"/console/audit/event/\(ConsoleHTML.escape(id))/decrypt\">\(r.csrf)<button class=\"danger\" type=\"submit\">Decrypt and show</button></form>"
        }
        body += "</div></div>"
        return body
    }
}
