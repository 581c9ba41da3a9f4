import AirlockCore
import AirlockPolicy
import ArgumentParser
import Foundation

/// `airlock policy validate <files…>`: checks policy and providers YAML offline (no database),
/// printing every problem as `file:line:column: field: message`. Exit status 1 on any problem.
struct PolicyValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Validate policy and providers YAML files without a database.",
        discussion: "Directories are searched (not recursively) for *.yaml and *.yml. The schema is documented in Policies/README.md."
    )

    @Argument(help: "Policy or providers files, or directories of them.")
    var paths: [String]

    @Flag(help: "Print one JSON object per file instead of text.")
    var json = false

    func run() throws {
        var failed = 0
        for file in try Self.expand(paths) {
            do {
                let summary = Self.summary(try PolicyFile.load(contentsOf: file))
                if json {
                    print(JSONValue.object(["file": .string(file), "ok": true, "summary": .string(summary)]).serialized)
                } else {
                    print("ok    \(file): \(summary)")
                }
            } catch {
                failed += 1
                if json {
                    let problems: [JSONValue] = error.problems.map { p in
                        .object([
                            "line": p.line.map(JSONValue.int) ?? .null, "column": p.column.map(JSONValue.int) ?? .null,
                            "path": .string(p.path), "code": .string(p.code.rawValue), "message": .string(p.message),
                        ])
                    }
                    print(JSONValue.object(["file": .string(file), "ok": false, "problems": .array(problems)]).serialized)
                } else {
                    FileHandle.standardError.write(Data((error.description + "\n").utf8))
                }
            }
        }
        if failed > 0 {
            if !json { FileHandle.standardError.write(Data("\(failed) file(s) failed validation\n".utf8)) }
            throw ExitCode(1)
        }
    }

    static func summary(_ document: PolicyFile.Document) -> String {
        switch document {
        case .policy(let p):
            return "policy \(p.name) (\(p.mode), \(p.rules.count) rule\(p.rules.count == 1 ? "" : "s"), retention \(p.retention.retentionClass))"
        case .providers(let c):
            return "providers \(c.providers.map { "\($0.name)@\($0.region)" }.joined(separator: ", "))"
        }
    }

    /// Files as given; directories replaced by their sorted *.yaml / *.yml files.
    static func expand(_ paths: [String]) throws -> [String] {
        var out: [String] = []
        for path in paths {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
                let names = try FileManager.default.contentsOfDirectory(atPath: path)
                    .filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted()
                out += names.map { (path.hasSuffix("/") ? path : path + "/") + $0 }
            } else {
                out.append(path)
            }
        }
        guard !out.isEmpty else { throw ValidationError("no YAML files found") }
        return out
    }
}
