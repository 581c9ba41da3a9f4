import AirlockCore
import AirlockDetect
import ArgumentParser

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `airlock scan`: find personal data and secrets in text files or stdin.
struct ScanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scan",
        abstract: "Scan text for personal data and secrets.",
        subcommands: [ScanTextCommand.self, ScanEvalCommand.self, ScanBenchCommand.self],
        defaultSubcommand: ScanTextCommand.self
    )
}

struct ScanTextCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "text",
        abstract: "Scan files (or stdin) and print findings or the redacted text."
    )

    @Flag(help: "Each input line is a JSON object with a \"text\" field; print {\"spans\":[...]} per line (code point offsets).")
    var jsonl = false

    @Flag(help: "Print the text with the default operators applied instead of findings.")
    var redact = false

    @Option(help: "Minimum score for a finding (0...1).")
    var minScore: Double = 0.5

    @Argument(help: "Files to scan; stdin when none.")
    var files: [String] = []

    func run() throws {
        let scanner = Scanner(configuration: .init(minimumScore: minScore))
        let operators = Operators(hashKey: Array("airlock-cli".utf8))
        let inputs = files.isEmpty ? ["-"] : files
        var failures = 0
        for path in inputs {
            guard let data = ScanIO.readAll(path) else {
                ScanIO.err("airlock scan: cannot read \(path)\n")
                failures += 1
                continue
            }
            if jsonl {
                var lineNo = 0
                for line in ScanIO.lines(data) {
                    lineNo += 1
                    if line.isEmpty { continue }
                    ScanIO.out(ScanTextCommand.jsonlLine(line, lineNo: lineNo, scanner: scanner, operators: operators, redact: redact) + "\n")
                }
            } else {
                var lineNo = 0
                for line in ScanIO.lines(data) {
                    lineNo += 1
                    guard let text = String(validating: line, as: UTF8.self) else {
                        ScanIO.err("\(path):\(lineNo): invalid UTF-8, line skipped\n")
                        if redact { ScanIO.out("\n") }
                        continue
                    }
                    let findings = scanner.scan(text)
                    if redact {
                        var vault = Vault()
                        ScanIO.out(operators.apply(text, findings: findings, action: Action.defaultAction(for:), vault: &vault).text + "\n")
                        continue
                    }
                    for f in Scanner.codePointSpans(findings, in: text) {
                        let value = ScanTextCommand.preview(text, f)
                        ScanIO.out("\(path):\(lineNo)\t\(f.type.rawValue.padding(18))\t\(f.start)-\(f.end)\t\(String(format2: f.score))\t\(value)\n")
                    }
                }
            }
        }
        if failures > 0 { throw ExitCode(1) }
    }

    /// One JSONL line in, one JSON object out (an error object for bad input, never an abort).
    static func jsonlLine(_ line: ArraySlice<UInt8>, lineNo: Int, scanner: Scanner, operators: Operators, redact: Bool) -> String {
        guard String(validating: line, as: UTF8.self) != nil else {
            return JSONValue.object(["line": .int(lineNo), "error": "invalid UTF-8"]).serialized
        }
        let value: JSONValue
        do { value = try JSONValue(parsing: line) } catch {
            return JSONValue.object(["line": .int(lineNo), "error": .string("invalid JSON: \(error.description)")]).serialized
        }
        guard let text = value["text"]?.stringValue else {
            return JSONValue.object(["line": .int(lineNo), "error": "missing string field \"text\""]).serialized
        }
        let findings = scanner.scan(text)
        var out: JSONObject = [:]
        out["spans"] = .array(Scanner.codePointSpans(findings, in: text).map { f in
            .object(["type": .string(f.type.rawValue), "start": .int(f.start), "end": .int(f.end), "score": .number(String(format2: f.score))])
        })
        if redact {
            var vault = Vault()
            out["text"] = .string(operators.apply(text, findings: findings, action: Action.defaultAction(for:), vault: &vault).text)
        }
        return JSONValue.object(out).serialized
    }

    /// The table shows a masked preview so terminal scrollback does not keep the full value.
    static func preview(_ text: String, _ f: Finding) -> String {
        let scalars = Array(text.unicodeScalars)
        var s = String(String.UnicodeScalarView(scalars[f.start..<f.end]))
        s = s.replacingNewlines()
        return s.count > 60 ? String(s.prefix(57)) + "..." : s
    }
}

/// Small I/O helpers without Foundation (POSIX read/write on fds 0, 1, 2).
enum ScanIO {
    static func readAll(_ path: String) -> [UInt8]? {
        let fd: Int32 = path == "-" ? 0 : open(path, O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { if fd != 0 { close(fd) } }
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let r = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if r < 0 { return nil }
            if r == 0 { break }
            out.append(contentsOf: buf[0..<r])
        }
        return out
    }

    static func lines(_ data: [UInt8]) -> [ArraySlice<UInt8>] {
        var out: [ArraySlice<UInt8>] = []
        var s = 0
        for i in 0..<data.count where data[i] == 0x0A {
            var e = i
            if e > s, data[e - 1] == 0x0D { e -= 1 }
            out.append(data[s..<e]); s = i + 1
        }
        if s < data.count { out.append(data[s..<data.count]) }
        return out
    }

    static func write(_ fd: Int32, _ s: String) {
        var bytes = Array(s.utf8)
        var off = 0
        while off < bytes.count {
            let w = bytes.withUnsafeMutableBytes { Glibc.write(fd, $0.baseAddress! + off, $0.count - off) }
            if w <= 0 { return }
            off += w
        }
    }

    static func out(_ s: String) { write(1, s) }
    static func err(_ s: String) { write(2, s) }
}

extension String {
    init(format2 v: Double) {
        let r = (v * 100).rounded() / 100
        var s = String(r)
        if s.hasSuffix(".0") { s += "0" }
        self = s
    }
    func padding(_ width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
    func replacingNewlines() -> String { String(map { $0 == "\n" || $0 == "\r" || $0 == "\t" ? " " : $0 }) }
}
