import AirlockPolicy

/// What a governance repository refuses, with a closed code the CLI and the admin API map to
/// an exit status or HTTP status in one place. Messages name configuration (tenant ids, key
/// ids, provider names, version numbers), never a secret or request data.
public struct GovernanceError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable, CaseIterable {
        case invalidArgument = "invalid_argument"
        case tenantNotFound = "tenant_not_found"
        case tenantExists = "tenant_exists"
        case keyNotFound = "key_not_found"
        case providerNotFound = "provider_not_found"
        case providerExists = "provider_exists"
        case policyVersionNotFound = "policy_version_not_found"
        case noActivePolicy = "no_active_policy"
        /// The policy or provider document failed validation; `problems` says where.
        case invalidDocument = "invalid_document"
    }

    public let code: Code
    public let message: String
    /// For `invalidDocument`: every problem, `file:line:column: path: message` when printed.
    public let problems: [PolicyValidationError.Problem]

    public init(_ code: Code, _ message: String, problems: [PolicyValidationError.Problem] = []) {
        self.code = code
        self.message = message
        self.problems = problems
    }

    public var description: String {
        problems.isEmpty ? message : ([message] + problems.map(\.description)).joined(separator: "\n")
    }

    /// The status an HTTP admin API would answer with.
    public var httpStatus: Int {
        switch code {
        case .invalidArgument, .invalidDocument: return 400
        case .tenantNotFound, .keyNotFound, .providerNotFound, .policyVersionNotFound, .noActivePolicy: return 404
        case .tenantExists, .providerExists: return 409
        }
    }
}
