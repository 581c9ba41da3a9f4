import AirlockCore

/// Rewrites a stream of `chat.completion.chunk` objects: restores placeholders and scans the
/// output in `choices[].delta.content`, `reasoning_content` and
/// `tool_calls[].function.arguments`, with one processor per choice and field so a
/// placeholder split across any number of chunks is restored. Held text is flushed into the
/// chunk that carries the choice's `finish_reason`, or by `finish()` as extra chunks.
public struct ChatStreamRewriter: Sendable {
    let vault: Vault
    let makeGuard: @Sendable () -> StreamOutputGuard?
    var processors: [String: ResponseStreamProcessor] = [:]
    var order: [String] = []
    var lastMeta: JSONObject = [:]
    public private(set) var applied: [Operators.Applied] = []

    /// `outputScanning` nil restores only.
    public init(vault: Vault, scanner: Scanner, operators: Operators, actions: (@Sendable (EntityType) -> Action)?) {
        self.vault = vault
        if let actions {
            self.makeGuard = { StreamOutputGuard(scanner: scanner, operators: operators, actions: actions) }
        } else {
            self.makeGuard = { nil }
        }
    }

    mutating func process(_ key: String, _ text: String) -> String {
        if processors[key] == nil {
            processors[key] = ResponseStreamProcessor(vault: vault, outputGuard: makeGuard())
            order.append(key)
        }
        return processors[key]!.feed(text)
    }

    mutating func flush(_ key: String) -> String {
        guard var p = processors[key] else { return "" }
        let s = p.finish()
        applied.append(contentsOf: p.applied)
        processors[key] = nil
        order.removeAll { $0 == key }
        return s
    }

    public mutating func rewrite(_ chunk: JSONValue) -> JSONValue {
        guard case .object(var root) = chunk, case .array(var choices) = root["choices"] ?? .null else { return chunk }
        for (k, v) in root.members where k != "choices" && k != "usage" { lastMeta[k] = v }
        for ci in choices.indices {
            guard case .object(var choice) = choices[ci] else { continue }
            let idx = choice["index"]?.intValue ?? ci
            var delta: JSONObject = choice["delta"]?.objectValue ?? [:]
            let hadDelta = choice["delta"] != nil
            for field in ["content", "reasoning_content"] {
                if case .string(let s) = delta[field] ?? .null { delta[field] = .string(process("\(idx)/\(field)", s)) }
            }
            if case .array(var calls) = delta["tool_calls"] ?? .null {
                for j in calls.indices {
                    guard case .object(var call) = calls[j] else { continue }
                    let ti = call["index"]?.intValue ?? j
                    if case .object(var fn) = call["function"] ?? .null, case .string(let a) = fn["arguments"] ?? .null {
                        fn["arguments"] = .string(process("\(idx)/tool/\(ti)", a))
                        call["function"] = .object(fn)
                    }
                    calls[j] = .object(call)
                }
                delta["tool_calls"] = .array(calls)
            }
            if let fr = choice["finish_reason"], !fr.isNull {
                flushChoice(idx, into: &delta)
            }
            if hadDelta || !delta.members.isEmpty { choice["delta"] = .object(delta) }
            choices[ci] = .object(choice)
        }
        root["choices"] = .array(choices)
        return .object(root)
    }

    mutating func flushChoice(_ idx: Int, into delta: inout JSONObject) {
        for key in order where key.hasPrefix("\(idx)/") {
            let rest = flush(key)
            guard !rest.isEmpty else { continue }
            let parts = key.split(separator: "/")
            if parts.count == 2 {
                let field = String(parts[1])
                delta[field] = .string((delta[field]?.stringValue ?? "") + rest)
            } else if let ti = Int(parts[2]) {
                var calls = delta["tool_calls"]?.arrayValue ?? []
                if let j = calls.firstIndex(where: { $0["index"]?.intValue == ti }), case .object(var call) = calls[j] {
                    var fn = call["function"]?.objectValue ?? [:]
                    fn["arguments"] = .string((fn["arguments"]?.stringValue ?? "") + rest)
                    call["function"] = .object(fn)
                    calls[j] = .object(call)
                } else {
                    calls.append(.object(["index": .int(ti), "function": .object(["arguments": .string(rest)])]))
                }
                delta["tool_calls"] = .array(calls)
            }
        }
    }

    /// Chunks carrying whatever is still held (call before `data: [DONE]`).
    public mutating func finish() -> [JSONValue] {
        var byChoice: [Int: JSONObject] = [:]
        for key in order {
            guard let idx = Int(key.split(separator: "/")[0]) else { continue }
            var d = byChoice[idx] ?? [:]
            flushChoice(idx, into: &d)
            byChoice[idx] = d
        }
        return byChoice.keys.sorted().compactMap { idx in
            guard let d = byChoice[idx], !d.members.isEmpty else { return nil }
            var meta = lastMeta
            meta["choices"] = .array([.object(["index": .int(idx), "delta": .object(d), "finish_reason": .null])])
            return .object(meta)
        }
    }
}

/// Restores and scans a non-streamed `chat.completion` body.
public struct ResponseRestorer: Sendable {
    let vault: Vault
    let scanner: Scanner
    let operators: Operators
    let actions: (@Sendable (EntityType) -> Action)?

    public init(vault: Vault, scanner: Scanner, operators: Operators, actions: (@Sendable (EntityType) -> Action)?) {
        self.vault = vault
        self.scanner = scanner
        self.operators = operators
        self.actions = actions
    }

    public func restore(_ text: String, applied: inout [Operators.Applied]) -> String {
        let restored = vault.restore(text)
        guard let actions else { return restored }
        var g = StreamOutputGuard(scanner: scanner, operators: operators, actions: actions)
        let out = g.whole(restored)
        applied.append(contentsOf: g.applied)
        return out
    }

    public func rewrite(_ response: JSONValue) -> (response: JSONValue, applied: [Operators.Applied]) {
        var changed = false
        return rewrite(response, changed: &changed)
    }

    /// `nil` when restoring and the output scan left every text as it was, so the provider's
    /// bytes can be passed on as they came (no re-serialization on a clean call).
    public func rewriteIfChanged(_ response: JSONValue) -> (response: JSONValue, applied: [Operators.Applied])? {
        var changed = false
        let result = rewrite(response, changed: &changed)
        return changed ? result : nil
    }

    private func rewrite(_ response: JSONValue, changed: inout Bool) -> (response: JSONValue, applied: [Operators.Applied]) {
        guard case .object(var root) = response, case .array(var choices) = root["choices"] ?? .null else { return (response, []) }
        var applied: [Operators.Applied] = []
        func restoreNoting(_ text: String) -> String {
            let out = restore(text, applied: &applied)
            if out != text { changed = true }
            return out
        }
        for ci in choices.indices {
            guard case .object(var choice) = choices[ci], case .object(var msg) = choice["message"] ?? .null else { continue }
            for field in ["content", "reasoning_content"] {
                if case .string(let s) = msg[field] ?? .null { msg[field] = .string(restoreNoting(s)) }
            }
            if case .array(var calls) = msg["tool_calls"] ?? .null {
                for j in calls.indices {
                    guard case .object(var call) = calls[j], case .object(var fn) = call["function"] ?? .null,
                          case .string(let a) = fn["arguments"] ?? .null else { continue }
                    fn["arguments"] = .string(restoreNoting(a))
                    call["function"] = .object(fn)
                    calls[j] = .object(call)
                }
                msg["tool_calls"] = .array(calls)
            }
            choice["message"] = .object(msg)
            choices[ci] = .object(choice)
        }
        root["choices"] = .array(choices)
        return (.object(root), applied)
    }
}
