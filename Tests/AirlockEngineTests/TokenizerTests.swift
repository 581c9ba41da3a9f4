import Foundation
import Testing
@testable import AirlockEngine

@Suite("Pre-tokenizers")
struct PreTokenizerTests {
    func pieces(_ p: PreTokenizer, _ s: String) -> [String] {
        let cpts = s.unicodeScalars.map(\.value)
        return p.split(cpts).map { r in String(String.UnicodeScalarView(cpts[r].map { Unicode.Scalar($0)! })) }
    }

    @Test func gpt2() {
        #expect(pieces(.gpt2, "Hello world's  test 42!!") == ["Hello", " world", "'s", " ", " test", " 42", "!!"])
        #expect(pieces(.gpt2, "end   ") == ["end", "   "])
    }

    @Test func smollmSplitsEveryDigit() {
        #expect(pieces(.smollm, "abc 123") == ["abc", " ", "1", "2", "3"])
        #expect(pieces(.smollm, "x2y") == ["x", "2", "y"])
    }

    @Test func llama3() {
        #expect(pieces(.llama3, "I'M here 12345") == ["I", "'M", " here", " ", "123", "45"])
        #expect(pieces(.llama3, "a\n\nb") == ["a", "\n\n", "b"])
        #expect(pieces(.llama3, "(hi)...\n") == ["(hi", ")...\n"])
        #expect(pieces(.llama3, "안녕 세계") == ["안녕", " 세계"])
    }

    @Test func qwen2SingleDigits() {
        #expect(pieces(.qwen2, "v12345") == ["v", "1", "2", "3", "4", "5"])
    }

    @Test func deepseekV3() {
        #expect(pieces(.deepseekV3, "Hello世界123,你好") == ["Hello", "世界", "123", ",", "你好"])
        #expect(pieces(.deepseekV3, "!Hello 1234") == ["!Hello", " ", "123", "4"])
        #expect(pieces(.deepseekV3, "a ... b") == ["a", " ...", " b"])
    }

    @Test func piecesAlwaysCoverTheInput() {
        var rng = SplitMix64(seed: 99)
        let alphabet: [UInt32] = [32, 10, 13, 9, 39, 65, 97, 49, 0xAC00, 0x4E00, 0x1F600, 0x301, 33, 0x3000]
        for p in PreTokenizer.allCases {
            for _ in 0..<200 {
                let cpts = (0..<Int(rng.next() % 30)).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }
                let ranges = p.split(cpts)
                var next = 0
                for r in ranges {
                    #expect(r.lowerBound == next && !r.isEmpty)
                    next = r.upperBound
                }
                #expect(next == cpts.count)
            }
        }
    }
}

@Suite("UTF-8 streaming and stop sequences")
struct StreamingTextTests {
    @Test func neverSplitsACodePoint() {
        let text = "a한😀b👨‍👩‍👧é"
        var d = UTF8StreamDecoder()
        var out = ""
        for byte in Array(text.utf8) {
            let piece = d.append([byte])
            #expect(piece.unicodeScalars.allSatisfy { $0 != "\u{FFFD}" })
            out += piece
        }
        out += d.flush()
        #expect(out == text)
    }

    @Test func invalidBytesAreRepairedNotHeld() {
        var d = UTF8StreamDecoder()
        #expect(d.append([0xFF, 0x41]) == "\u{FFFD}A")
        #expect(d.append([0xED, 0x95]) == "")
        #expect(d.flush() == "\u{FFFD}")
    }

    @Test func stopSequencesAreCutAndHeldBack() {
        var f = StopSequenceFilter(["###", "STOP"])
        #expect(f.push("Hello #") == ("Hello ", false))
        #expect(f.push("#") == ("", false))
        #expect(f.push(" ok") == ("## ok", false))
        #expect(f.push(" ST") == (" ", false))
        #expect(f.push("OP and more") == ("", true))
        var g = StopSequenceFilter(["</s>"])
        #expect(g.push("partial </") == ("partial ", false))
        #expect(g.flush() == "</")
    }
}

@Suite("Tokenizer (SmolLM2 vocabulary)", .enabled(if: ModelFixture.available))
struct TokenizerTests {
    static let tokenizer: BPETokenizer? = try? BPETokenizer(gguf: GGUFFile(path: ModelFixture.modelPath))

    @Test func matchesLlamaCppOnMultilingualText() throws {
        let tok = try #require(Self.tokenizer)
        let fixture = try ModelFixture.json("smollm2-tokenizer")
        let cases = fixture["cases"] as! [[String: Any]]
        #expect(cases.count >= 15)
        for c in cases {
            let text = c["text"] as! String
            let expected = (c["ids"] as! [Int]).map(Int32.init)
            #expect(tok.encode(text) == expected, "text: \(text)")
            #expect(tok.decode(expected) == text)
        }
    }

    @Test func roundTripsArbitraryUnicode() throws {
        let tok = try #require(Self.tokenizer)
        var rng = SplitMix64(seed: 5)
        let ranges: [ClosedRange<UInt32>] = [0x20...0x7E, 0xAC00...0xD7A3, 0x1F300...0x1F6FF, 0x0400...0x04FF, 0x4E00...0x9FFF, 0x0300...0x036F, 0x9...0xD]
        for _ in 0..<200 {
            var s = String.UnicodeScalarView()
            for _ in 0..<Int(rng.next() % 40) {
                let r = ranges[Int(rng.next() % UInt64(ranges.count))]
                s.append(Unicode.Scalar(r.lowerBound + UInt32(rng.next() % UInt64(r.count)))!)
            }
            let text = String(s)
            #expect(tok.decode(tok.encode(text)) == text)
        }
    }

    @Test func specialTokensOnlyWhenAsked() throws {
        let tok = try #require(Self.tokenizer)
        let text = "<|im_start|>user"
        #expect(tok.encode(text, parseSpecial: true).first == 1)
        #expect(!tok.encode(text, parseSpecial: false).contains(1))
        #expect(tok.specialToken("<|im_end|>") == 2)
        #expect(tok.endOfGeneration.contains(2))
        #expect(tok.bytes(of: 2).isEmpty)
    }
}
