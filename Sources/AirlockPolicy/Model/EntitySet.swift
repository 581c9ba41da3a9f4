import AirlockCore

/// A set of entity types as a 64-bit mask, so matching a finding against a rule is one AND
/// in the evaluation hot loop instead of a hash lookup.
public struct EntitySet: Sendable, Hashable {
    public private(set) var bits: UInt64

    public init() { bits = 0 }

    public init<S: Sequence>(_ types: S) where S.Element == EntityType {
        bits = 0
        for t in types { insert(t) }
    }

    public static let all = EntitySet(EntityType.allCases)

    public mutating func insert(_ type: EntityType) { bits |= 1 << EntitySet.index(of: type) }

    @inline(__always)
    public func contains(_ type: EntityType) -> Bool { bits & (1 << EntitySet.index(of: type)) != 0 }

    public var isEmpty: Bool { bits == 0 }

    /// Position of each case in `allCases`; computed once.
    private static let indices: [EntityType: Int] = {
        precondition(EntityType.allCases.count <= 64, "EntitySet holds at most 64 entity types")
        var d: [EntityType: Int] = [:]
        for (i, t) in EntityType.allCases.enumerated() { d[t] = i }
        return d
    }()

    /// A payload-free enum is stored as its declaration index, which is also its `allCases`
    /// position; reading the byte avoids hashing the raw string (tested against `allCases`).
    @inline(__always)
    static func index(of type: EntityType) -> UInt64 {
        if MemoryLayout<EntityType>.size == 1 { return UInt64(unsafeBitCast(type, to: UInt8.self)) }
        return UInt64(indices[type]!)
    }

    /// The single bit of one type, for callers that test many sets against one finding.
    @inline(__always)
    public static func bit(_ type: EntityType) -> UInt64 { 1 << index(of: type) }
}
