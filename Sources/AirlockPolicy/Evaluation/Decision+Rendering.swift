import AirlockCore

extension Decision {
    /// JSON for the admin API and `policy explain --json`. With `findings`, each finding's type,
    /// offsets and score are included beside its action (never its text).
    public func jsonValue(findings input: [Finding]? = nil) -> JSONValue {
        var items: [JSONValue] = []
        for (i, f) in findings.enumerated() {
            var o: JSONObject = [:]
            if let input, i < input.count {
                o["type"] = .string(input[i].type.rawValue)
                o["start"] = .int(input[i].start)
                o["end"] = .int(input[i].end)
                o["score"] = .double(input[i].score)
            }
            o["action"] = .string(f.action.rawValue)
            o["rule"] = f.ruleID.map(JSONValue.string) ?? (f.ignored ? .string("ignored") : .string("defaults"))
            items.append(.object(o))
        }
        return .object([
            "policy": .string(policyName),
            "policy_version": policyVersion.map(JSONValue.int) ?? .null,
            "mode": .string(mode.rawValue),
            "decision": .string(headerValue),
            "blocked": .bool(isBlocked),
            "blocked_by": .array(blockedBy.map(JSONValue.string)),
            "findings": .array(items),
            "destinations": .array(destinations.patterns.map(JSONValue.string)),
            "excluded_destinations": .array(excludedDestinations.patterns.map(JSONValue.string)),
            "local": .string(local.rawValue),
            "residency_rules": .array(residencyRuleIDs.map(JSONValue.string)),
            "fired_rules": .array(firedRuleIDs.map(JSONValue.string)),
            "retention": .object([
                "class": .string(retention.retentionClass),
                "audit_days": .int(retention.auditDays),
                "payload_days": .int(retention.payloadDays),
                "capture_payloads": .bool(retention.capturePayloads),
                "fail_closed": .bool(retention.failClosed),
            ]),
        ])
    }

    /// A few aligned lines for a terminal.
    public func explanation(findings input: [Finding]? = nil) -> String {
        var lines: [String] = []
        let version = policyVersion.map { " v\($0)" } ?? ""
        lines.append("policy:       \(policyName)\(version) (\(mode))")
        lines.append("decision:     \(headerValue)" + (isBlocked ? " by \(blockedBy.joined(separator: ", "))" : ""))
        if findings.isEmpty {
            lines.append("findings:     none")
        } else {
            lines.append("findings:")
            for (i, f) in findings.enumerated() {
                var what = "#\(i)"
                if let input, i < input.count {
                    let x = input[i]
                    what = "\(x.type.rawValue) [\(x.start)..<\(x.end)] score \(Decision.format(x.score))"
                }
                let why = f.ruleID.map { "rule \($0)" } ?? (f.ignored ? "below min_score" : "defaults")
                lines.append("  \(what) -> \(f.action) (\(why))")
            }
        }
        lines.append("destinations: \(destinationSummary)")
        lines.append("local engine: \(local)")
        if !residencyRuleIDs.isEmpty { lines.append("residency by: \(residencyRuleIDs.joined(separator: ", "))") }
        lines.append("fired rules:  \(firedRuleIDs.isEmpty ? "none" : firedRuleIDs.joined(separator: ", "))")
        lines.append("retention:    \(retention.retentionClass)")
        return lines.joined(separator: "\n")
    }

    static func format(_ score: Double) -> String {
        let hundredths = Int((score * 100).rounded())
        return "\(hundredths / 100).\(hundredths % 100 < 10 ? "0" : "")\(hundredths % 100)"
    }
}
