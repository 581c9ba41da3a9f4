/// Rows in PostgreSQL's COPY text format: tab-separated, `\N` for NULL, backslash escapes.
extension AuditRecord {
    static let copyColumns = [
        "tenant_id", "received_at", "chain_id", "seq", "event_id", "kind", "key_id", "request_id", "endpoint",
        "requested_model", "provider", "region", "route_reason", "decision", "rule_ids", "policy_version",
        "entity_types", "entity_counts", "fingerprints", "prompt_tokens", "cached_prompt_tokens", "completion_tokens",
        "reasoning_tokens", "cost_usd", "avoided_cost_usd", "first_byte_at", "completed_at", "latency_ms", "status",
        "error_code", "client_address", "actor", "target", "details", "payload_digest", "prev_hash", "hash",
    ]

    /// The row's values in `copyColumns` order, to either encoding (COPY text or JSON).
    func writeColumns<Sink: AuditRowSink>(to c: inout Sink) {
        c.text(tenantID); c.timestamp(receivedAt); c.text(chainID); c.int(seq); c.text(eventID.uuidString.lowercased())
        c.int(Int64(kind)); c.text(keyID); c.text(requestID); c.text(endpoint); c.text(requestedModel); c.text(provider)
        c.text(region); c.text(routeReason); c.text(decision); c.textArray(ruleIDs); c.int(policyVersion)
        c.textArray(entityTypes); c.intArray(entityCounts); c.textArray(fingerprints); c.int(promptTokens)
        c.int(cachedPromptTokens); c.int(completionTokens); c.int(reasoningTokens); c.double(costUSD); c.double(avoidedCostUSD)
        c.timestamp(firstByteAt); c.timestamp(completedAt); c.int(latencyMs); c.int(status); c.text(errorCode)
        c.text(clientAddress); c.text(actor); c.text(target); c.text(details); c.bytea(payloadDigest); c.bytea(prevHash)
        c.bytea(hash)
    }

    func appendCopyRow(to out: inout [UInt8]) {
        var c = CopyRow(out: out)
        out = []
        writeColumns(to: &c)
        c.endRow()
        out = c.out
    }
}

/// Where an audit row's columns are written, one typed value at a time, in `copyColumns` order.
protocol AuditRowSink {
    mutating func text(_ s: String?)
    mutating func int(_ v: Int64?)
    mutating func double(_ v: Double?)
    mutating func timestamp(_ micros: Int64?)
    mutating func bytea(_ bytes: [UInt8]?)
    mutating func textArray(_ items: [String])
    mutating func intArray(_ items: [Int64])
}

extension SpoolEntry {
    static let payloadCopyColumns = ["tenant_id", "received_at", "chain_id", "seq", "key_id", "request_box", "response_box"]

    func appendPayloadCopyRow(to out: inout [UInt8]) {
        guard let payload else { return }
        var c = CopyRow(out: out)
        out = []
        c.text(record.tenantID); c.timestamp(record.receivedAt); c.text(record.chainID); c.int(record.seq)
        c.text(payload.keyID); c.bytea(payload.request); c.bytea(payload.response)
        c.endRow()
        out = c.out
    }
}

struct CopyRow: AuditRowSink {
    var out: [UInt8]
    var first = true

    init(out: [UInt8]) { self.out = out }

    private mutating func sep() {
        if first { first = false } else { out.append(0x09) }
    }

    mutating func endRow() { out.append(0x0A); first = true }

    mutating func null() { sep(); out.append(0x5C); out.append(UInt8(ascii: "N")) }

    /// COPY-escapes one byte of a text value.
    private static func escape(_ b: UInt8, into out: inout [UInt8]) {
        switch b {
        case 0x5C: out.append(0x5C); out.append(0x5C)
        case 0x0A: out.append(0x5C); out.append(UInt8(ascii: "n"))
        case 0x0D: out.append(0x5C); out.append(UInt8(ascii: "r"))
        case 0x09: out.append(0x5C); out.append(UInt8(ascii: "t"))
        case 0x00: break  // PostgreSQL text cannot hold NUL
        default: out.append(b)
        }
    }

    mutating func text(_ s: String?) {
        guard let s else { return null() }
        sep()
        appendEscaped(s, arrayElement: false)
    }

    /// Appends a value COPY-escaped (inside an array literal, `"` and `\` are escaped for the
    /// literal first); most values (ids, 64-hex fingerprints) are copied whole.
    private mutating func appendEscaped(_ s: String, arrayElement: Bool) {
        out.appendEscaping(s, isPlain: { b in
            b != 0x5C && b != 0x0A && b != 0x0D && b != 0x09 && b != 0x00 && !(arrayElement && b == 0x22)
        }) { b, out in
            if arrayElement && (b == 0x22 || b == 0x5C) { Self.escape(0x5C, into: &out) }
            Self.escape(b, into: &out)
        }
    }

    mutating func int(_ v: Int64?) {
        guard let v else { return null() }
        sep()
        out.append(contentsOf: String(v).utf8)
    }

    mutating func double(_ v: Double?) {
        guard let v else { return null() }
        sep()
        out.append(contentsOf: "\(v)".utf8)  // shortest round-trip form; float8in reads it exactly
    }

    mutating func timestamp(_ micros: Int64?) {
        guard let micros else { return null() }
        sep()
        UTCDay.appendTimestamp(micros, to: &out)
    }

    mutating func bytea(_ bytes: [UInt8]?) {
        guard let bytes else { return null() }
        sep()
        out.append(0x5C); out.append(0x5C); out.append(UInt8(ascii: "x"))
        Hex.append(bytes, to: &out)
    }

    /// `{"a","b"}` — array literal quoting, then COPY escaping of the whole literal.
    mutating func textArray(_ items: [String]) {
        sep()
        out.append(UInt8(ascii: "{"))
        for (i, item) in items.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            out.append(0x22)
            appendEscaped(item, arrayElement: true)
            out.append(0x22)
        }
        out.append(UInt8(ascii: "}"))
    }

    mutating func intArray(_ items: [Int64]) {
        sep()
        out.appendIntegerList(items, open: UInt8(ascii: "{"), close: UInt8(ascii: "}"))
    }
}

extension [UInt8] {
    /// `open` 1,2,3 `close`: an integer array in either row encoding (`{…}` or `[…]`).
    mutating func appendIntegerList(_ items: [Int64], open: UInt8, close: UInt8) {
        append(open)
        for (i, v) in items.enumerated() {
            if i > 0 { append(UInt8(ascii: ",")) }
            append(contentsOf: String(v).utf8)
        }
        append(close)
    }
}
