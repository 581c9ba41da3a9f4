import Foundation
import Testing
@testable import AirlockEngine

@Suite("GGUF reader")
struct GGUFReaderTests {
    func parse(_ bytes: [UInt8]) throws -> GGUFFile {
        try GGUFFile(file: MappedFile(bytes: bytes))
    }

    func expectInvalid(_ bytes: [UInt8], _ fragment: String, code: EngineError.Code = .invalidModelFile) {
        do {
            _ = try parse(bytes)
            Issue.record("expected an error containing '\(fragment)'")
        } catch let e as EngineError {
            #expect(e.code == code)
            #expect(e.message.contains(fragment), "message was: \(e.message)")
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test func parsesMetadataAndTensors() throws {
        let g = try parse(GGUFBuilder.sample().build())
        #expect(g.version == 3)
        #expect(g.string("general.architecture") == "llama")
        #expect(g.int("llama.block_count") == 1)
        #expect(g.bool("flag") == true)
        #expect(try g.array("tokenizer.ggml.tokens")?.strings() == ["a", "b", "<s>"])
        #expect(try g.array("tokenizer.ggml.scores")?.floats() == [0, -1, -2])
        #expect(g.tensorNames == ["f32", "q8", "f16"])
        let t = try #require(g.tensors["f32"])
        #expect(t.dims == [4, 2] && t.type == .f32 && t.rowCount == 2)
        #expect(t.data.loadUnaligned(fromByteOffset: 4 * 5, as: Float.self) == 5)
        #expect(g.dataOffset % g.alignment == 0)
        var row = [Float](repeating: 0, count: 32)
        let q8 = try #require(g.tensors["q8"])
        Dequantize.row(.q8_0, q8.data, 32, into: &row)
        #expect(row[31] == 31)  // d = 1.0 (0x3C00)
    }

    @Test func everyTruncationIsAnError() {
        let bytes = GGUFBuilder.sample().build()
        // The last tensor holds 16 bytes followed by 16 bytes of alignment padding.
        for n in 0..<(bytes.count - 16) {
            #expect(throws: EngineError.self) { _ = try parse(Array(bytes[0..<n])) }
        }
    }

    @Test func headerProblemsAreNamed() {
        var bad = GGUFBuilder.sample().build()
        bad[0] = UInt8(ascii: "X")
        expectInvalid(bad, "bad magic")
        var v2 = GGUFBuilder.sample(); v2.version = 2
        expectInvalid(v2.build(), "version 2")
        var hugeTensors = GGUFBuilder.sample(); hugeTensors.tensorCountOverride = UInt64.max
        expectInvalid(hugeTensors.build(), "tensor count")
        var hugeKV = GGUFBuilder.sample(); hugeKV.kvCountOverride = 1 << 40
        expectInvalid(hugeKV.build(), "metadata count")
    }

    @Test func absurdLengthsAreRejectedWithoutAllocating() {
        var b = GGUFBuilder.sample().build()
        // The first key's length field starts right after the 24-byte header.
        b.replaceSubrange(24..<32, with: [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F])
        expectInvalid(b, "string length")
        var arr = GGUFBuilder()
        arr.add("big", .i32s([1, 2, 3]))
        var bytes = arr.build()
        // key(8+3) + type(4) + elemtype(4) → count at 24 + 11 + 8
        bytes.replaceSubrange(43..<51, with: [0, 0, 0, 0, 0, 0, 0, 0x10])
        expectInvalid(bytes, "array length")
    }

    @Test func tensorProblemsAreNamed() {
        var past = GGUFBuilder.sample(); past.tensors[2].offsetOverride = 1 << 20
        expectInvalid(past.build(), "'f16' extends past the end")
        var overlap = GGUFBuilder.sample(); overlap.tensors[1].offsetOverride = 0
        expectInvalid(overlap.build(), "overlap")
        var unknown = GGUFBuilder.sample(); unknown.tensors[0].type = 99
        expectInvalid(unknown.build(), "unknown type 99")
        var q5 = GGUFBuilder.sample(); q5.tensors[0].type = 6
        expectInvalid(q5.build(), "unsupported type Q5_0", code: .unsupportedModel)
        var misaligned = GGUFBuilder.sample(); misaligned.tensors[1].offsetOverride = 33
        expectInvalid(misaligned.build(), "not aligned")
        var zero = GGUFBuilder.sample(); zero.tensors[0].dims = [0, 2]
        expectInvalid(zero.build(), "invalid dimension 0")
        var fiveD = GGUFBuilder.sample(); fiveD.tensors[0].dims = [1, 1, 1, 1, 1]
        expectInvalid(fiveD.build(), "5 dimensions")
        var partialBlock = GGUFBuilder.sample(); partialBlock.tensors[1].dims = [30]
        expectInvalid(partialBlock.build(), "block size")
        var dup = GGUFBuilder.sample(); dup.tensors[1].name = "f32"
        expectInvalid(dup.build(), "duplicate tensor name")
        var dupKey = GGUFBuilder.sample(); dupKey.add("flag", .bool(false))
        expectInvalid(dupKey.build(), "duplicate metadata key")
        var align = GGUFBuilder.sample(); align.add("general.alignment", .u32(3))
        expectInvalid(align.build(), "alignment")
        var overflow = GGUFBuilder.sample(); overflow.tensors[0].dims = [1 << 31 - 1, 1 << 31 - 1, 1 << 31 - 1]
        expectInvalid(overflow.build(), "too large")
    }

    /// Seeded mutation fuzzing: every mutant must parse or throw, never crash or hang.
    @Test func fuzzedMutantsNeverCrash() {
        let seed = GGUFBuilder.sample().build()
        var rng = SplitMix64(seed: 0xA1B2_C3D4)
        var parsed = 0, rejected = 0
        for _ in 0..<3000 {
            var m = seed
            for _ in 0..<Int(rng.next() % 4 + 1) {
                let i = Int(rng.next() % UInt64(m.count))
                switch rng.next() % 3 {
                case 0: m[i] = UInt8(truncatingIfNeeded: rng.next())
                case 1: m[i] ^= 1 << UInt8(rng.next() % 8)
                default: m[i] = [0x00, 0xFF, 0x7F, 0x80][Int(rng.next() % 4)]
                }
            }
            if rng.next() % 8 == 0 { m = Array(m.prefix(Int(rng.next() % UInt64(m.count)))) }
            do { _ = try parse(m); parsed += 1 } catch { rejected += 1 }
        }
        #expect(parsed + rejected == 3000)
        #expect(rejected > 0)
    }

    @Test(.enabled(if: ModelFixture.available)) func readsTheRealModel() throws {
        let g = try GGUFFile(path: ModelFixture.modelPath)
        #expect(g.tensors.count == 272)
        #expect(g.string("tokenizer.ggml.pre") == "smollm")
        #expect(g.tensors["token_embd.weight"]?.type == .q8_0)
        #expect(g.tensors["blk.0.attn_q.weight"]?.type == .q4_1)
        let config = try LlamaConfig(gguf: g, vocabSize: 49152)
        #expect(config.layerCount == 30 && config.headCount == 9 && config.headCountKV == 3 && config.headDim == 64)
    }
}
