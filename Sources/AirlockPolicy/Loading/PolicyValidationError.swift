/// Everything wrong with a policy or providers file, each problem pointing at file, line,
/// column and field path, compiler style:
/// `Policies/kr.yaml:12:13: rules[1].action: unknown action 'encrypt' (expected one of allow, …)`.
/// Problems quote the configuration, never request data.
public struct PolicyValidationError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable, Equatable {
        /// Not YAML, or not readable.
        case syntax
        case unknownKey = "unknown_key"
        case missingField = "missing_field"
        case wrongType = "wrong_type"
        case invalidValue = "invalid_value"
        case duplicate
    }

    public struct Problem: Sendable, Equatable, CustomStringConvertible {
        public var code: Code
        public var file: String?
        /// 1-based; nil when the problem has no position (an unreadable file).
        public var line: Int?
        public var column: Int?
        /// Field path from the document root: `rules[1].when.entities[0]`; empty for the root.
        public var path: String
        public var message: String

        public init(code: Code, file: String? = nil, line: Int? = nil, column: Int? = nil, path: String, message: String) {
            self.code = code
            self.file = file
            self.line = line
            self.column = column
            self.path = path
            self.message = message
        }

        public var description: String {
            var location = file ?? "<policy>"
            if let line {
                location += ":\(line)"
                if let column { location += ":\(column)" }
            }
            return path.isEmpty ? "\(location): \(message)" : "\(location): \(path): \(message)"
        }
    }

    /// In document order.
    public var problems: [Problem]

    public init(problems: [Problem]) { self.problems = problems }

    public var description: String { problems.map(\.description).joined(separator: "\n") }
}
