/// One detected span. Offsets are UTF-8 byte offsets into the scanned string (end exclusive);
/// the scanner converts to code points where a caller needs them.
public struct Finding: Sendable, Hashable {
    public var type: EntityType
    public var start: Int
    public var end: Int
    /// Confidence in 0...1 after validators and context words.
    public var score: Double

    public init(type: EntityType, start: Int, end: Int, score: Double) {
        self.type = type
        self.start = start
        self.end = end
        self.score = score
    }

    public var length: Int { end - start }
}
