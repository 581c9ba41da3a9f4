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

    public init() {}

    public var isEmpty: Bool { byValue.isEmpty }
    public var count: Int { byValue.count }
    /// Types that have at least one placeholder (the restorer only looks for these).
    public var types: Set<EntityType> { Set(byNumber.keys.lazy.map(\.type)) }

    /// Room for `count` more values without rehashing (the transformer knows how many it found).
    public mutating func reserveCapacity(_ count: Int) {
        byValue.reserveCapacity(byValue.count + count)
        byNumber.reserveCapacity(byNumber.count + count)
    }

    /// `<EMAIL_ADDRESS_1>`-style placeholder for `value`, allocating a new number on first use.
    public mutating func placeholder(for value: String, type: EntityType) -> String {
        let key = Key(type: type, value: value)
        if let n = byValue[key] { return Vault.format(type, n) }
        // Numbers only grow (`reserve` too moves `nextNumber` up), so the next one is free.
        let n = nextNumber[type, default: 1]
        nextNumber[type] = n + 1
        byValue[key] = n
        byNumber[Slot(type: type, number: n)] = value
        return Vault.format(type, n)
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
