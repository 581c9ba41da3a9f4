import Foundation
import Testing
@testable import AirlockEngine

/// Block decoding checked against gguf-py's reference dequantisation (fixture written by
/// scripts/engine/record_reference.py), so a consistent misreading of a block layout in
/// both our dequantiser and our fused kernels cannot go unnoticed.
@Suite("Dequantisation vs gguf-py")
struct DequantizeReferenceTests {
    @Test func everyTypeMatchesTheReference() throws {
        let fixture = try ModelFixture.json("dequantize-reference")
        let cases = fixture["cases"] as! [[String: Any]]
        #expect(cases.count == 8)
        for c in cases {
            let name = c["type"] as! String
            let type = try #require(GGMLType.allCases.first { $0.name == name })
            let hex = Array((c["bytes"] as! String).utf8)
            let bytes = stride(from: 0, to: hex.count, by: 2).map { UInt8(String(decoding: hex[$0..<($0 + 2)], as: UTF8.self), radix: 16)! }
            let expected = (c["values"] as! [Double]).map(Float.init)
            var got = [Float](repeating: .nan, count: expected.count)
            bytes.withUnsafeBytes { Dequantize.row(type, $0.baseAddress!, expected.count, into: &got) }
            for i in expected.indices where abs(got[i] - expected[i]) > 1e-6 * max(1, abs(expected[i])) {
                Issue.record("\(name)[\(i)]: \(got[i]) vs \(expected[i])")
                break
            }
        }
    }
}
