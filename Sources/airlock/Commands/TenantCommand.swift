import AirlockCore
import AirlockStore
import ArgumentParser

/// `airlock tenant create|list|disable|enable`.
struct TenantCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tenant",
        abstract: "Create, list, disable and enable tenants.",
        subcommands: [Create.self, List.self, Disable.self, Enable.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a tenant.")
        @OptionGroup var admin: AdminOptions
        @Argument(help: "Tenant id: lower-case letters, digits, '_' and '-' (at most 63).") var id: String
        @Option(help: "Display name (default: the id).") var name: String?
        @Option(help: "Who makes the change, for the admin audit log (default: $AIRLOCK_OPERATOR, else cli:$USER).") var by: String?

        func run() async throws {
            let (id, name) = (id, name ?? id)
            let tenant = try await admin.withAudit(by: by) { store, audit in
                let tenant = try await store.tenants.create(id: id, name: name)
                try await audit.record("tenant.create", tenant: tenant.id, target: tenant.id)
                return tenant
            }
            print("created tenant \(tenant.id)")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List tenants with their state and active policy version.")
        @OptionGroup var admin: AdminOptions
        @Flag(help: "Print a JSON array.") var json = false

        func run() async throws {
            let tenants = try await admin.withStore { store, _ in try await store.tenants.list() }
            if json {
                print(JSONValue.array(tenants.map { t in
                    .object(["id": .string(t.id), "name": .string(t.name), "disabled": .bool(t.disabled),
                             "policy_version": t.activePolicyVersion.map(JSONValue.int) ?? .null,
                             "created_at": .string(AdminTable.timestamp(t.createdAt))])
                }).serialized)
                return
            }
            print(AdminTable.render(["ID", "NAME", "STATUS", "POLICY", "CREATED"], tenants.map { t in
                [t.id, t.name, t.disabled ? "disabled" : "enabled", t.activePolicyVersion.map { "v\($0)" } ?? "-",
                 AdminTable.timestamp(t.createdAt)]
            }))
        }
    }

    struct Disable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Disable a tenant: its keys stop authenticating.")
        @OptionGroup var admin: AdminOptions
        @Argument(help: "Tenant id.") var id: String
        @Option(help: "Who makes the change, for the admin audit log (default: $AIRLOCK_OPERATOR, else cli:$USER).") var by: String?

        func run() async throws {
            let id = id
            try await admin.withAudit(by: by) { store, audit in
                _ = try await store.tenants.disable(id)
                try await audit.record("tenant.disable", tenant: id, target: id)
            }
            print("disabled tenant \(id)")
        }
    }

    struct Enable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Enable a disabled tenant again.")
        @OptionGroup var admin: AdminOptions
        @Argument(help: "Tenant id.") var id: String
        @Option(help: "Who makes the change, for the admin audit log (default: $AIRLOCK_OPERATOR, else cli:$USER).") var by: String?

        func run() async throws {
            let id = id
            try await admin.withAudit(by: by) { store, audit in
                _ = try await store.tenants.enable(id)
                try await audit.record("tenant.enable", tenant: id, target: id)
            }
            print("enabled tenant \(id)")
        }
    }
}
