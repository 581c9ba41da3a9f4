import AirlockAudit
import AirlockCore
import AirlockPolicy
import AirlockStore
import Foundation

/// The policy for tenants that have not applied one: a shipped policy by name
/// (`Policies/<name>.yaml`) or a file path.
enum DefaultPolicy {
    static func load(_ nameOrPath: String) throws -> Policy {
        let fm = FileManager.default
        if nameOrPath.hasSuffix(".yaml") || nameOrPath.contains("/") {
            return try Policy.load(contentsOf: nameOrPath)
        }
        for dir in policyDirectories() where fm.fileExists(atPath: dir + "/\(nameOrPath).yaml") {
            return try Policy.load(contentsOf: dir + "/\(nameOrPath).yaml")
        }
        throw AirlockError(.notReady, "default policy '\(nameOrPath)' not found (looked in ./Policies and the source checkout)")
    }

    static func policyDirectories() -> [String] {
        var dirs = [FileManager.default.currentDirectoryPath + "/Policies"]
        if let env = ProcessInfo.processInfo.environment["AIRLOCK_POLICIES_DIR"] { dirs.insert(env, at: 0) }
        let root = URL(fileURLWithPath: Migration.defaultDirectory()).deletingLastPathComponent()
        dirs.append(root.appendingPathComponent("Policies").path)
        return dirs
    }
}

extension RetentionRules.Days {
    /// A policy's `retention` as the retention runner reads it.
    public init(_ retention: Retention) {
        self.init(auditDays: retention.auditDays, payloadDays: retention.payloadDays)
    }
}

extension RetentionRules {
    /// Each tenant's active policy decides; tenants without one get `defaults`.
    public static func from(snapshot: GovernanceSnapshot, defaults: RetentionRules.Days) -> RetentionRules {
        RetentionRules(defaults: defaults, tenants: snapshot.policies.mapValues { Days($0.policy.retention) })
    }
}
