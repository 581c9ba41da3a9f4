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

extension GatewayConfiguration {
    /// Retention for tenants without a policy of their own: the default policy's.
    var defaultPolicyRetention: RetentionRules.Days {
        let policy = try? DefaultPolicy.load(defaultPolicy)
        return RetentionRules.Days(auditDays: policy?.retention.auditDays ?? 90, payloadDays: policy?.retention.payloadDays ?? 0)
    }
}

extension RetentionRules {
    static func from(snapshot: GovernanceSnapshot, defaults: RetentionRules.Days) -> RetentionRules {
        var tenants: [String: Days] = [:]
        for (tenant, active) in snapshot.policies {
            tenants[tenant] = Days(auditDays: active.policy.retention.auditDays, payloadDays: active.policy.retention.payloadDays)
        }
        return RetentionRules(defaults: defaults, tenants: tenants)
    }
}
