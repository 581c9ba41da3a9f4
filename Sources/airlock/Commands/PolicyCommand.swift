import AirlockCore
import AirlockPolicy
import AirlockStore
import ArgumentParser
import Foundation

/// `airlock policy …`: offline `validate` / `evaluate`, `explain` (scan, decide and route a
/// prompt for a tenant), and the stored, versioned tenant policies: `apply`, `list`, `show`,
/// `diff`, `rollback`.
struct PolicyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy",
        abstract: "Validate, evaluate, apply and version tenant policies.",
        subcommands: [PolicyValidateCommand.self, PolicyEvaluateCommand.self, PolicyExplainCommand.self,
                      Apply.self, List.self, Show.self, Diff.self, Rollback.self])

    struct Apply: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate a policy file and make it the tenant's active policy as a new version.",
            discussion: "Applying content identical to the active version changes nothing. Gateways pick the change up at once (LISTEN/NOTIFY).")
        @OptionGroup var admin: AdminOptions
        @Option(help: "Tenant id.") var tenant: String
        @Argument(help: "Policy YAML file ('-' reads stdin).") var file: String
        @Option(help: "Who applies it (default: $AIRLOCK_OPERATOR, else cli:$USER).") var by: String?

        func run() async throws {
            let yaml: String
            if file == "-" {
                yaml = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
            } else {
                do { yaml = try PolicyFile.read(file) } catch {
                    printError(error.description)
                    throw ExitCode.failure
                }
            }
            let (tenant, source, appliedBy) = (tenant, file == "-" ? "<stdin>" : file, AdminOperator.name(by))
            let result = try await admin.withAudit(by: appliedBy) { store, audit in
                let result = try await store.policies.apply(tenant: tenant, yaml: yaml, appliedBy: appliedBy, source: source)
                if result.outcome == .applied {
                    let v = result.version
                    try await audit.record("policy.apply", tenant: tenant, target: "v\(v.version)",
                                           details: ["policy": v.name, "sha256": v.sha256])
                }
                return result
            }
            let v = result.version
            switch result.outcome {
            case .applied:
                print("applied policy \(v.name) to tenant \(tenant) as version \(v.version) (sha256 \(v.sha256.prefix(12)))")
            case .unchanged:
                print("unchanged: tenant \(tenant) already runs this content as version \(v.version)")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List a tenant's policy versions; * marks the active one.")
        @OptionGroup var admin: AdminOptions
        @Option(help: "Tenant id.") var tenant: String
        @Flag(help: "Print a JSON array.") var json = false

        func run() async throws {
            let tenant = tenant
            let versions = try await admin.withStore { store, _ in try await store.policies.list(tenant: tenant) }
            if json {
                print(JSONValue.array(versions.map { v in
                    .object(["version": .int(v.version), "active": .bool(v.isActive), "name": .string(v.name), "sha256": .string(v.sha256),
                             "applied_by": .string(v.appliedBy), "applied_at": .string(AdminTable.timestamp(v.appliedAt))])
                }).serialized)
                return
            }
            if versions.isEmpty { printError("tenant \(tenant) has no policy versions yet") }
            print(AdminTable.render(["VERSION", "ACTIVE", "NAME", "SHA256", "APPLIED AT", "APPLIED BY"], versions.map { v in
                [String(v.version), v.isActive ? "*" : "", v.name, String(v.sha256.prefix(12)), AdminTable.timestamp(v.appliedAt), v.appliedBy]
            }))
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a stored policy version's YAML exactly as applied (default: the active one).")
        @OptionGroup var admin: AdminOptions
        @Option(help: "Tenant id.") var tenant: String
        @Option(help: "Version number (default: active).") var version: Int?

        func run() async throws {
            let (tenant, version) = (tenant, version)
            let shown = try await admin.withStore { store, _ in
                if let version { return try await store.policies.version(tenant: tenant, version) }
                guard let active = try await store.policies.active(tenant: tenant) else {
                    throw GovernanceError(.noActivePolicy, "tenant '\(tenant)' has no active policy")
                }
                return active
            }
            printError("# tenant \(tenant), version \(shown.version)\(shown.isActive ? " (active)" : ""), applied \(AdminTable.timestamp(shown.appliedAt)) by \(shown.appliedBy)")
            FileHandle.standardOutput.write(Data(shown.content.utf8))
            if !shown.content.hasSuffix("\n") { print() }
        }
    }

    struct Diff: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Unified diff between two stored versions (default: the active one and the version before it).")
        @OptionGroup var admin: AdminOptions
        @Option(help: "Tenant id.") var tenant: String
        @Option(help: "Old version (default: --to minus 1).") var from: Int?
        @Option(help: "New version (default: active).") var to: Int?

        func run() async throws {
            let (tenant, from, to) = (tenant, from, to)
            let (diff, old, new) = try await admin.withStore { store, _ in
                var newVersion = to
                if newVersion == nil {
                    guard let active = try await store.policies.active(tenant: tenant) else {
                        throw GovernanceError(.noActivePolicy, "tenant '\(tenant)' has no active policy")
                    }
                    newVersion = active.version
                }
                let new = newVersion!
                let old = from ?? max(1, new - 1)
                return (try await store.policies.diff(tenant: tenant, from: old, to: new), old, new)
            }
            if !diff.hasChanges {
                printError("no differences between version \(old) and version \(new)")
                return
            }
            FileHandle.standardOutput.write(Data(diff.unified(oldName: "\(tenant)@v\(old)", newName: "\(tenant)@v\(new)").utf8))
        }
    }

    struct Rollback: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Make a stored version the tenant's active policy again.")
        @OptionGroup var admin: AdminOptions
        @Option(help: "Tenant id.") var tenant: String
        @Option(help: "Version to make active.") var to: Int
        @Option(help: "Who rolls back, for the admin audit log (default: $AIRLOCK_OPERATOR, else cli:$USER).") var by: String?

        func run() async throws {
            let (tenant, to) = (tenant, to)
            let result = try await admin.withAudit(by: by) { store, audit in
                let result = try await store.policies.rollback(tenant: tenant, to: to)
                if result.outcome == .rolledBack {
                    try await audit.record("policy.rollback", tenant: tenant, target: "v\(to)", details: [
                        "policy": result.version.name, "sha256": result.version.sha256,
                        "previous_version": result.previousVersion.map(String.init) ?? "none",
                    ])
                }
                return result
            }
            switch result.outcome {
            case .rolledBack:
                print("tenant \(tenant) now runs version \(to) (policy \(result.version.name)); was version \(result.previousVersion.map(String.init) ?? "none")")
            case .unchanged:
                print("unchanged: tenant \(tenant) already runs version \(to)")
            }
        }
    }
}
