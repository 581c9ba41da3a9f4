import AirlockCore
import Foundation
import Testing
@testable import AirlockDetect

@Suite("Robustness: arbitrary bytes, adversarial inputs, the committed corpus")
struct RobustnessTests {
    @Test("no crash on arbitrary bytes, findings stay inside the buffer and do not overlap")
    func fuzzBytes() {
        var rng = TestRNG(99)
        let alphabet: [UInt8] = Array("0123456789-+().:@/ _xXAKIAskeyJ=\n".utf8) + [0xEA, 0xB9, 0x80, 0xE4, 0xB8, 0xAD, 0xFF, 0xC3, 0x80, 0xE3, 0x81, 0x95, 0x82]
        for round in 0..<400 {
            let len = Int.random(in: 0...600, using: &rng)
            let bytes: [UInt8] = (0..<len).map { _ in round % 2 == 0 ? UInt8.random(in: 0...255, using: &rng) : alphabet.randomElement(using: &rng)! }
            let f = bytes.withUnsafeBufferPointer { scanner.scan(utf8: $0) }
            var last = 0
            for x in f {
                #expect(x.start >= last && x.end <= len && x.start < x.end)
                last = x.end
            }
        }
    }

    @Test("spans never end inside a UTF-8 character (regressions found by fuzzing)")
    func wholeCharacters() {
        let cases: [[UInt8]] = [
            Array("u:p@sk--年.".utf8) + [0xEA],                                   // domain cut by a truncated character
            Array("-----BEGIN PRIVATE KEY-----\nabc\n-----END 님IDE89先生".utf8),     // END line without closing dashes
        ]
        for bytes in cases {
            for f in bytes.withUnsafeBufferPointer({ scanner.scan(utf8: $0) }) {
                #expect(f.end <= bytes.count)
                #expect(bytes[f.start] & 0xC0 != 0x80)
                #expect(f.end == bytes.count || bytes[f.end] & 0xC0 != 0x80)
            }
        }
        var v = Vault()
        let text = "-----BEGIN PRIVATE KEY-----\nabc\n-----END 님IDE89先生"
        let p = Operators(hashKey: [1]).apply(text, findings: scanner.scan(text), action: { _ in .pseudonymize }, vault: &v).text
        #expect(v.restore(p) == text)
    }

    @Test("adversarial inputs scan in roughly linear time")
    func linear() {
        let cases = ["1", "1 ", "1.", "1:", "a@", "x://", "-----BEGIN PRIVATE KEY-----", "password=x ", "김철수님 ", "王先生", "+1(", "sk-"]
        for c in cases {
            let small = String(repeating: c, count: 1_500)
            let big = String(repeating: c, count: 12_000)
            // Interleaved runs, best of five, so load from tests running in parallel hits both.
            var t1 = Double.infinity, t2 = Double.infinity
            for _ in 0..<5 {
                t1 = min(t1, time { _ = scanner.scan(small) })
                t2 = min(t2, time { _ = scanner.scan(big) })
            }
            // 8x the input: linear is ~8x the time, quadratic 64x; 32x leaves room for noise
            // (a floor absorbs timer noise on tiny runs).
            #expect(t2 < max(t1, 0.003) * 32, "case \(c)")
        }
    }

    /// CPU time of this thread, not wall time: other processes on a loaded machine preempt
    /// the scan but do not add to it, so the ratio below measures the algorithm only.
    func time(_ body: () -> Void) -> Double {
        func now() -> Double {
            var t = timespec()
            clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
            return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
        }
        let start = now()
        body()
        return now() - start
    }

    @Test("the committed evaluation corpus meets the quality bars")
    func corpusBars() throws {
        // Tests/AirlockDetectTests/RobustnessTests.swift -> repository root
        let root = String(#filePath.split(separator: "/", omittingEmptySubsequences: false).dropLast(3).joined(separator: "/"))
        let path = root + "/Corpus/detect/eval.jsonl"
        let lines = try readLines(path)
        #expect(lines.count >= 3000)
        let ev = Evaluation.run(lines: lines, scanner: scanner)
        #expect(ev.invalidLines == 0)
        #expect(ev.patternMicro.f1 >= 0.95)
        #expect(ev.patternMicro.precision >= 0.97)
        #expect(ev.perType[.person]!.f1 >= 0.85)
        #expect(ev.perType[.streetAddress]!.f1 >= 0.85)
    }

    func readLines(_ path: String) throws -> [String] {
        guard let fp = fopen(path, "rb") else { throw CorpusMissing() }
        defer { fclose(fp) }
        var data: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let r = fread(&buf, 1, buf.count, fp)
            if r <= 0 { break }
            data.append(contentsOf: buf[0..<r])
        }
        return String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)
    }

    struct CorpusMissing: Error {}
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
