import AirlockCore

/// Restores placeholders in a streamed answer. Feed each chunk; the returned text is safe to
/// send now. Only bytes that could still be the start of a placeholder are held back, so
/// ordinary tokens pass through with no delay; `finish()` flushes the rest.
public struct StreamRestorer: Sendable {
    public let vault: Vault
    let matcher: PlaceholderMatcher
    var pending: [UInt8] = []
    /// The input byte just before `pending`: a placeholder without its `<` only counts at the
    /// start of a word, and that must be judged the same whether or not a chunk ended there.
    var before: UInt8?

    public init(vault: Vault) {
        self.vault = vault
        self.matcher = PlaceholderMatcher(vault: vault)
    }

    /// Bytes currently held back (for tests and metrics).
    public var heldBackCount: Int { pending.count }

    public mutating func feed(_ chunk: String) -> String {
        if pending.isEmpty && vault.isEmpty { return chunk }
        pending.append(contentsOf: chunk.utf8)
        return drain(atEnd: false)
    }

    public mutating func finish() -> String { drain(atEnd: true) }

    mutating func drain(atEnd: Bool) -> String {
        if vault.isEmpty {
            let s = String(decoding: pending, as: UTF8.self)
            pending.removeAll()
            return s
        }
        var out: [UInt8] = []
        out.reserveCapacity(pending.count)
        var holdFrom = pending.count
        let matcher = self.matcher
        let vault = self.vault
        let wordBefore = before.map(isWordByte) ?? false
        pending.withUnsafeBufferPointer { b in
            var i = 0, copyFrom = 0
            while i < b.count {
                if matcher.mayStart(b[i]), !(i == 0 && wordBefore && b[0] != UInt8(ascii: "<")) {
                    switch matcher.match(b, at: i, atEnd: atEnd) {
                    case .full(let end, let type, let number):
                        if let original = vault.original(type: type, number: number) {
                            out.append(contentsOf: b[copyFrom..<i])
                            out.append(contentsOf: original.utf8)
                            i = end
                            copyFrom = end
                            continue
                        }
                    case .partial:
                        out.append(contentsOf: b[copyFrom..<i])
                        holdFrom = i
                        return
                    case .none:
                        break
                    }
                }
                i += 1
            }
            out.append(contentsOf: b[copyFrom..<b.count])
        }
        if holdFrom > 0 { before = pending[holdFrom - 1] }
        if holdFrom < pending.count { pending.removeFirst(holdFrom) } else { pending.removeAll(keepingCapacity: true) }
        return String(decoding: out, as: UTF8.self)
    }
}
