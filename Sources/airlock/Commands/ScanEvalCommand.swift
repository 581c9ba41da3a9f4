import AirlockCore
import AirlockDetect
import ArgumentParser

/// `airlock scan eval`: precision/recall/F1 per type over the labelled corpus, as JSON.
struct ScanEvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Evaluate the scanner on a labelled JSONL corpus; prints JSON with P/R/F1 per type."
    )

    @Option(help: "Corpus file (JSONL with text and spans in code points).")
    var corpus: String = "Corpus/detect/eval.jsonl"

    @Flag(help: "Also list the ids of up to 20 sentences with errors.")
    var showErrors = false

    func run() throws {
        guard let data = ScanIO.readAll(corpus) else {
            ScanIO.err("airlock scan eval: cannot read \(corpus)\n")
            throw ExitCode(1)
        }
        let lines = ScanIO.lines(data).map { String(decoding: $0, as: UTF8.self) }
        let ev = Evaluation.run(lines: lines, scanner: Scanner())
        var report = ev.report
        if showErrors, case .object(var o) = report {
            o["error_ids"] = .array(ev.errorIDs.map(JSONValue.string))
            report = .object(o)
        }
        ScanIO.out(report.serialized + "\n")
    }
}
