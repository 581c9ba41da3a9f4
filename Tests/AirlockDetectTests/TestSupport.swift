import AirlockCore
@testable import AirlockDetect

let scanner = Scanner()

/// (type, matched text) pairs, the way a user reads scanner output.
func found(_ text: String, minScore: Double = 0.5) -> [(EntityType, String)] {
    let bytes = Array(text.utf8)
    return Scanner(configuration: .init(minimumScore: minScore)).scan(text).map { ($0.type, String(decoding: bytes[$0.start..<$0.end], as: UTF8.self)) }
}

func types(_ text: String) -> [EntityType] { found(text).map(\.0) }

func values(_ text: String, _ type: EntityType) -> [String] { found(text).filter { $0.0 == type }.map(\.1) }

/// Deterministic generator so failures reproduce.
struct TestRNG: RandomNumberGenerator {
    var state: UInt64
    init(_ seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E3779B97F4A7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58476D1CE4E5B9
        z = (z ^ (z >> 27)) &* 0x94D049BB133111EB
        return z ^ (z >> 31)
    }
}

/// Splits a string into random chunks at scalar boundaries.
func randomChunks(_ s: String, rng: inout TestRNG, maxLen: Int = 7) -> [String] {
    let scalars = Array(s.unicodeScalars)
    var out: [String] = []
    var i = 0
    while i < scalars.count {
        let len = Int.random(in: 1...maxLen, using: &rng)
        let e = min(scalars.count, i + len)
        var v = String.UnicodeScalarView()
        v.append(contentsOf: scalars[i..<e])
        out.append(String(v))
        i = e
    }
    return out
}
