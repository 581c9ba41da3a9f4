import AirlockCore

/// Scores the scanner against a labelled JSONL corpus: each line
/// `{"text": "...", "spans": [{"type", "start", "end"}], ...}` with code point offsets.
/// A prediction counts as correct only with the same type and exact offsets.
public struct Evaluation: Sendable {
    public struct Counts: Sendable, Equatable {
        public var tp = 0, fp = 0, fn = 0
        public var precision: Double { tp + fp == 0 ? 1 : Double(tp) / Double(tp + fp) }
        public var recall: Double { tp + fn == 0 ? 1 : Double(tp) / Double(tp + fn) }
        public var f1: Double { let p = precision, r = recall; return p + r == 0 ? 0 : 2 * p * r / (p + r) }
        static func += (a: inout Counts, b: Counts) { a.tp += b.tp; a.fp += b.fp; a.fn += b.fn }
    }

    /// Types judged by the pattern bar (everything except PERSON and addresses).
    public static func isPatternType(_ t: EntityType) -> Bool { t != .person && t != .streetAddress && t != .location }

    public var perType: [EntityType: Counts] = [:]
    public var sentences = 0
    public var invalidLines = 0
    /// Up to 20 examples of errors (ids only, never text) for debugging the corpus.
    public var errorIDs: [String] = []

    public init() {}

    public var patternMicro: Counts {
        var c = Counts()
        for (t, v) in perType where Evaluation.isPatternType(t) { c += v }
        return c
    }

    public var overallMicro: Counts {
        var c = Counts()
        for v in perType.values { c += v }
        return c
    }

    /// Evaluates every line; lines that are not valid JSON are counted and skipped.
    public static func run(lines: [String], scanner: Scanner, sampleEvery: Int = 1) -> Evaluation {
        var ev = Evaluation()
        for (i, line) in lines.enumerated() where i % max(1, sampleEvery) == 0 && !line.isEmpty {
            guard let obj = try? JSONValue(parsing: line), let text = obj["text"]?.stringValue else { ev.invalidLines += 1; continue }
            var gold: Set<Span> = []
            for s in obj["spans"]?.arrayValue ?? [] {
                guard let t = s["type"]?.stringValue.flatMap(EntityType.init(rawValue:)), let a = s["start"]?.intValue, let b = s["end"]?.intValue else { continue }
                gold.insert(Span(type: t, start: a, end: b))
            }
            let predicted = Set(Scanner.codePointSpans(scanner.scan(text), in: text).map { Span(type: $0.type, start: $0.start, end: $0.end) })
            ev.sentences += 1
            var wrong = false
            for p in predicted {
                if gold.contains(p) { ev.perType[p.type, default: Counts()].tp += 1 } else { ev.perType[p.type, default: Counts()].fp += 1; wrong = true }
            }
            for g in gold where !predicted.contains(g) { ev.perType[g.type, default: Counts()].fn += 1; wrong = true }
            if wrong, ev.errorIDs.count < 20 { ev.errorIDs.append(obj["id"]?.stringValue ?? "line \(i + 1)") }
        }
        return ev
    }

    struct Span: Hashable { var type: EntityType; var start: Int; var end: Int }

    static func round3(_ x: Double) -> JSONValue { .number(String((x * 1000).rounded() / 1000)) }

    static func json(_ c: Counts) -> JSONValue {
        .object(["precision": round3(c.precision), "recall": round3(c.recall), "f1": round3(c.f1),
                 "tp": .int(c.tp), "fp": .int(c.fp), "fn": .int(c.fn)])
    }

    /// The report printed by `airlock scan eval`.
    public var report: JSONValue {
        var types: JSONObject = [:]
        for t in perType.keys.sorted() { types[t.rawValue] = Evaluation.json(perType[t]!) }
        return .object([
            "sentences": .int(sentences),
            "invalid_lines": .int(invalidLines),
            "match": "exact type and code point offsets",
            "pattern_types_micro": Evaluation.json(patternMicro),
            "person": Evaluation.json(perType[.person] ?? Counts()),
            "street_address": Evaluation.json(perType[.streetAddress] ?? Counts()),
            "all_types_micro": Evaluation.json(overallMicro),
            "per_type": .object(types),
        ])
    }
}
