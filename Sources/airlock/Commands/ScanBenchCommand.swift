import AirlockCore
import AirlockDetect
import ArgumentParser

#if canImport(Glibc)
import Glibc
#endif

/// `airlock scan bench`: single-core throughput on mixed-language text and 1 KB prompts,
/// and timings of adversarial inputs (which must stay linear). Prints JSON; build with -c release.
struct ScanBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmark the scanner (use a release build); prints JSON."
    )

    @Option(help: "Corpus whose sentences make up the mixed-language text.")
    var corpus: String = "Corpus/detect/eval.jsonl"

    @Option(help: "Megabytes of mixed text per run.")
    var megabytes: Int = 8

    @Option(help: "Multilingual prose with sparse entities (typical chat text).")
    var prose: String = "Corpus/detect/prose.txt"

    @Flag(help: "Skip the adversarial worst cases.")
    var skipWorstCases = false

    @Option(help: "A chat request whose detect-side stages (parse, scan, transform, fingerprints, restore) are timed.")
    var request: String = "bench/compare/bodies/pii.json"

    @Flag(help: "Only time the chat request's stages.")
    var requestOnly = false

    func run() throws {
        var requestReport: JSONValue = .null
        if let body = ScanIO.readAll(request) {
            do {
                requestReport = try ScanBenchCommand.requestStages(body: Array(body), rounds: 2000)
            } catch {
                ScanIO.err("airlock scan bench: \(request) is not a JSON chat request\n")
                throw ExitCode(1)
            }
        }
        if requestOnly {
            guard requestReport != .null else {
                ScanIO.err("airlock scan bench: cannot read \(request)\n")
                throw ExitCode(1)
            }
            ScanIO.out(JSONValue.object(["build": "release expected", "chat_request": requestReport]).serialized + "\n")
            return
        }
        guard let data = ScanIO.readAll(corpus) else {
            ScanIO.err("airlock scan bench: cannot read \(corpus)\n")
            throw ExitCode(1)
        }
        var sentences: [String] = []
        for line in ScanIO.lines(data) {
            if let v = try? JSONValue(parsing: line), let t = v["text"]?.stringValue { sentences.append(t) }
        }
        guard !sentences.isEmpty else { throw ExitCode(1) }
        let scanner = Scanner()

        // Mixed text: corpus sentences (EN/KO/ZH/JA, entities and hard negatives) repeated.
        var mixed = ""
        var k = 0
        while mixed.utf8.count < megabytes << 20 { mixed += sentences[k % sentences.count]; mixed += k % 7 == 6 ? "\n" : " "; k += 1 }
        var mixedFindings = 0
        let mixedTime = ScanBenchCommand.best(of: 3) { mixedFindings = scanner.scan(mixed).count }

        // 1 KB chat prompts.
        var prompts: [String] = []
        var cur = ""
        for i in 0..<(sentences.count * 4) {
            let s = sentences[(i * 7919) % sentences.count]
            if cur.utf8.count + s.utf8.count > 1024 { prompts.append(cur); cur = "" }
            cur += s + " "
            if prompts.count >= 2000 { break }
        }
        let promptBytes = prompts.reduce(0) { $0 + $1.utf8.count }
        let promptTime = ScanBenchCommand.best(of: 3) { for p in prompts { _ = scanner.scan(p) } }

        // Prose: what most prompts look like (entities are rare).
        var proseReport: JSONValue = .null
        var prosePromptsReport: JSONValue = .null
        if let p = ScanIO.readAll(prose), !p.isEmpty {
            // 1 KB prompts cut from the prose at line boundaries.
            var pp: [String] = []
            var cur = ""
            for line in ScanIO.lines(p) {
                cur += String(decoding: line, as: UTF8.self) + "\n"
                if cur.utf8.count >= 1024 { pp.append(cur); cur = "" }
            }
            let ppBytes = pp.reduce(0) { $0 + $1.utf8.count }
            let ppTime = ScanBenchCommand.best(of: 3) { for x in pp { _ = scanner.scan(x) } }
            prosePromptsReport = .object(["count": .int(pp.count), "bytes": .int(ppBytes),
                                          "mb_per_s": .number(ScanBenchCommand.fmt(Double(ppBytes) / ppTime / 1e6)),
                                          "us_per_prompt": .number(ScanBenchCommand.fmt(ppTime / Double(max(1, pp.count)) * 1e6))])
            var text = String(decoding: p, as: UTF8.self)
            while text.utf8.count < megabytes << 20 { text += text }
            var proseFindings = 0
            let t = ScanBenchCommand.best(of: 3) { proseFindings = scanner.scan(text).count }
            proseReport = .object(["bytes": .int(text.utf8.count), "findings": .int(proseFindings), "seconds": .number(ScanBenchCommand.fmt(t)),
                                   "mb_per_s": .number(ScanBenchCommand.fmt(Double(text.utf8.count) / t / 1e6))])
        }

        // Worst cases, 1 MB each.
        let mb = 1 << 20
        var worst: JSONObject = [:]
        func timeCase(_ name: String, _ text: String) {
            let t = ScanBenchCommand.best(of: 2) { _ = scanner.scan(text) }
            worst[name] = .object(["bytes": .int(text.utf8.count), "ms": .number(ScanBenchCommand.fmt(t * 1000)), "mb_per_s": .number(ScanBenchCommand.fmt(Double(text.utf8.count) / t / 1e6))])
        }
        var rng = ScanBenchRNG(seed: 42)
        if !skipWorstCases {
        timeCase("digits_1mb", String((0..<mb).map { _ in Character(Unicode.Scalar(UInt8(48 + rng.next() % 10))) }))
        let alnum = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        timeCase("no_spaces_1mb", String(decoding: (0..<mb).map { _ in alnum[Int(rng.next() % 64)] }, as: UTF8.self))
        func rep(_ s: String) -> String { String(repeating: s, count: mb / s.utf8.count) }
        timeCase("near_miss_phone", rep("010-1234-567 "))
        timeCase("near_miss_dotted", rep("1.2.3.4."))
        timeCase("near_miss_hex_colon", rep("1:"))
        timeCase("near_miss_email", rep("a@b"))
        timeCase("near_miss_url", rep("x://"))
        timeCase("near_miss_pem", rep("-----BEGIN PRIVATE KEY-----"))
        timeCase("near_miss_keyword", rep("password=x "))
        timeCase("near_miss_korean_name", rep("김철수님 "))
        timeCase("near_miss_cjk", rep("王先生"))
        timeCase("digits_spaced", rep("1 "))
        }

        let report: JSONValue = .object([
            "build": "release expected",
            "single_core": true,
            "prose_mixed_languages": proseReport,
            "prompts_1kb_prose": prosePromptsReport,
            "mixed_text": .object([
                "source": "labelled corpus sentences (entity-dense: about one entity per 60 bytes)",
                "bytes": .int(mixed.utf8.count), "findings": .int(mixedFindings),
                "seconds": .number(ScanBenchCommand.fmt(mixedTime)),
                "mb_per_s": .number(ScanBenchCommand.fmt(Double(mixed.utf8.count) / mixedTime / 1e6)),
            ]),
            "prompts_1kb_corpus": .object([
                "count": .int(prompts.count), "bytes": .int(promptBytes),
                "mb_per_s": .number(ScanBenchCommand.fmt(Double(promptBytes) / promptTime / 1e6)),
                "us_per_prompt": .number(ScanBenchCommand.fmt(promptTime / Double(max(1, prompts.count)) * 1e6)),
            ]),
            "worst_case": .object(worst),
            "chat_request": requestReport,
            "presidio_reference": .object(["mb_per_s": .number("0.0075"), "note": "issue #3: ~12 ms per 90-byte sentence, spaCy, 2 cores"]),
        ])
        ScanIO.out(report.serialized + "\n")
    }

    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    static func best(of runs: Int, _ body: () throws -> Void) rethrows -> Double {
        var best = Double.infinity
        for _ in 0..<runs {
            let t0 = now()
            try body()
            best = min(best, now() - t0)
        }
        return best
    }

    static func fmt(_ x: Double) -> String { String((x * 100).rounded() / 100) }
}

struct ScanBenchRNG {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E3779B97F4A7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58476D1CE4E5B9
        z = (z ^ (z >> 27)) &* 0x94D049BB133111EB
        return z ^ (z >> 31)
    }
}
