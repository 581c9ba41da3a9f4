import Foundation
import Yams

/// File-level helpers shared by policy and provider documents: reading, the `apiVersion` /
/// `kind` header, and telling the two kinds apart for `airlock policy validate`.
public enum PolicyFile {
    public enum Kind: String, Sendable, CaseIterable {
        case policy = "Policy"
        case providers = "Providers"
    }

    /// A validated document of either kind.
    public enum Document: Sendable {
        case policy(Policy)
        case providers(ProviderCatalog)
    }

    /// Parses and validates one document, choosing the kind from its `kind:` (default `Policy`).
    public static func parse(yaml: String, file: String? = nil) throws(PolicyValidationError) -> Document {
        var reader = YAMLReader(file: file)
        guard let root = reader.compose(yaml) else { throw PolicyValidationError(problems: reader.problems) }
        if root["kind"]?.string == Kind.providers.rawValue {
            return .providers(try ProviderCatalog(yaml: yaml, file: file))
        }
        return .policy(try Policy(yaml: yaml, file: file))
    }

    public static func load(contentsOf path: String) throws(PolicyValidationError) -> Document {
        try parse(yaml: try read(path), file: path)
    }

    /// Policy and provider files are small; anything larger is refused before reading.
    public static let maxFileBytes = 1 << 20

    /// Reads a policy or provider file: a regular file of at most `maxFileBytes`, so a device
    /// (`/dev/zero`), a FIFO or a huge file fails at once instead of blocking or filling memory.
    public static func read(_ path: String) throws(PolicyValidationError) -> String {
        func refuse(_ message: String) -> PolicyValidationError {
            PolicyValidationError(problems: [.init(code: .syntax, file: path, path: "", message: message)])
        }
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path) else { throw refuse("cannot read file") }
        guard attributes[.type] as? FileAttributeType == .typeRegular else { throw refuse("not a regular file") }
        guard let size = attributes[.size] as? NSNumber, size.intValue <= maxFileBytes else {
            throw refuse("file is larger than \(maxFileBytes >> 20) MiB")
        }
        guard let data = FileManager.default.contents(atPath: path), data.count <= maxFileBytes else {
            throw PolicyValidationError(problems: [.init(code: .syntax, file: path, path: "", message: "cannot read file")])
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw PolicyValidationError(problems: [.init(code: .syntax, file: path, path: "", message: "file is not UTF-8 text")])
        }
        return text
    }

    static func checkHeader(_ f: [String: Node], expectedKind: Kind, _ r: inout YAMLReader) {
        if let n = f["apiVersion"], let v = r.string(n, "apiVersion"), v != Policy.apiVersion {
            r.report(.invalidValue, n, "apiVersion", "unsupported apiVersion '\(v)' (expected \(Policy.apiVersion))")
        }
        if let n = f["kind"], let k = r.string(n, "kind"), k != expectedKind.rawValue {
            r.report(.invalidValue, n, "kind", "kind '\(k)' where \(expectedKind.rawValue) was expected")
        }
    }
}
