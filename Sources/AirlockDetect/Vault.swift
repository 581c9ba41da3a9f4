import AirlockCore

/// Placeholders ↔ original values for one request or conversation. The same value always
/// gets the same placeholder; distinct values never share one (numbers count per type).
/// A value type: the gateway keeps one per conversation and passes it `inout`.
public struct Vault: Sendable, Equatable {
    struct Key: Hashable, Sendable { var type: EntityType; var value: String }
    struct Slot: Hashable, Sendable { var type: EntityType; var number: Int }

    // Flat tables (no dictionary per type): a request's worth of placeholders costs a few
    // hash lookups each, and `reserveCapacity` spares the growing.
    private var byValue: [Key: Int] = [:]
    private var byNumber: [Slot: String] = [:]
    private var nextNumber: [EntityType: Int] = [:]
    /// Kept as values are added, so a restorer's matcher does not walk every slot to find them.
    public private(set) var types: Set<EntityType> = []

    public init() {}

    public var isEmpty: Bool { byValue.isEmpty }
    public var count: Int { byValue.count }

    /// Room for `count` more values without rehashing (the transformer knows how many it found).
    public mutating func reserveCapacity(_ count: Int) {
        byValue.reserveCapacity(byValue.count + count)
        byNumber.reserveCapacity(byNumber.count + count)
    }

    /// `<EMAIL_ADDRESS_1>`-style placeholder for `value`, allocating a new number on first use.
    public mutating func placeholder(for value: String, type: EntityType) -> String {
        Vault.format(type, number(for: value, type: type))
    }

    /// Appends the placeholder's bytes to `out`: what the transformer writes, with no String
    /// made per finding.
    mutating func appendPlaceholder(for value: String, type: EntityType, to out: inout [UInt8]) {
        let n = number(for: value, type: type)
        out.append(UInt8(ascii: "<"))
        out.append(contentsOf: type.rawValue.utf8)
        out.append(UInt8(ascii: "_"))
        Vault.appendDecimal(n, to: &out)
        out.append(UInt8(ascii: ">"))
    }

    /// The value's number, allocated on first use. One hash lookup for the value (through the
    /// dictionary's in-place accessor), which a look-up-then-insert would make twice.
    private mutating func number(for value: String, type: EntityType) -> Int {
        // Numbers only grow (`reserve` too moves `nextNumber` up), so the next one is free.
        let candidate = nextNumber[type, default: 1]
        let (n, isNew) = Vault.existingOrInsert(&byValue[Key(type: type, value: value)], candidate)
        if isNew {
            nextNumber[type] = n + 1
            byNumber[Slot(type: type, number: n)] = value
            types.insert(type)
        }
        return n
    }

    private static func existingOrInsert(_ slot: inout Int?, _ candidate: Int) -> (Int, Bool) {
        if let n = slot { return (n, false) }
        slot = candidate
        return (candidate, true)
    }

    private static func appendDecimal(_ n: Int, to out: inout [UInt8]) {
        guard n >= 10 else { out.append(UInt8(48 + n)); return }
        appendDecimal(n / 10, to: &out)
        out.append(UInt8(48 + n % 10))
    }

    /// Numbers the user's own text already uses literally (e.g. they pasted "<PERSON_1>"):
    /// never hand them out, so restoring cannot turn their text into someone's data.
    public mutating func reserve(type: EntityType, number: Int) {
        if byNumber[Slot(type: type, number: number)] == nil { nextNumber[type] = max(nextNumber[type, default: 1], number + 1) }
    }

    public func original(type: EntityType, number: Int) -> String? { byNumber[Slot(type: type, number: number)] }

    /// The original for an exact, well-formed placeholder.
    public func original(for placeholder: String) -> String? {
        let m = PlaceholderMatcher(vault: self)
        let bytes = Array(placeholder.utf8)
        return bytes.withUnsafeBufferPointer { buf in
            if case .full(let end, let type, let number) = m.match(buf, at: 0, atEnd: true), end == buf.count {
                return original(type: type, number: number)
            }
            return nil
        }
    }

    /// Replaces every (possibly mangled) placeholder in a complete text.
    public func restore(_ text: String) -> String {
        guard !isEmpty else { return text }
        var r = StreamRestorer(vault: self)
        return r.feed(text) + r.finish()
    }

    static func format(_ type: EntityType, _ n: Int) -> String { "<\(type.rawValue)_\(n)>" }
}
