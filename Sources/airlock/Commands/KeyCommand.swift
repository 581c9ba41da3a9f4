import AirlockCore
import AirlockStore
import ArgumentParser

/// `airlock key create|list|revoke`. Only hashes are stored; a key is printed once, at
/// creation, alone on stdout so scripts can capture it: `KEY=$(airlock key create --tenant t)`.
struct KeyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "key",
        abstract: "Create, list and revoke tenant API keys.",
        subcommands: [Create.self, List.self, Revoke.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a key; prints it once on stdout (details on stderr).")
        @OptionGroup var admin: AdminOptions
        @Option(help: "Tenant id.") var tenant: String
        @Option(help: "A label for the key (e.g. the application using it).") var name: String?
        @Option(help: "Who makes the change, for the admin audit log (default: $AIRLOCK_OPERATOR, else cli:$USER).") var by: String?

        func run() async throws {
            let (tenant, name) = (tenant, name)
            let issued = try await admin.withAudit(by: by) { store, audit in
                let issued = try await store.keys.create(tenant: tenant, name: name)
                do {
                    // Target is the key id; neither the key nor its label (free text) is recorded.
                    try await audit.record("key.create", tenant: issued.tenantID, target: issued.keyID)
                } catch var failure as AdminAuditFailure {
                    // No unaudited credential: revoke the new key again and never print it.
                    let revoked = (try? await store.keys.revoke(keyID: issued.keyID)) != nil
                    failure.outcome = revoked ? "the new key was revoked again and is not shown"
                                              : "the new key could not be revoked either; revoke it with 'airlock key revoke'"
                    throw failure
                }
                return issued
            }
            printError("created key \(issued.keyID) (\(issued.prefix)…) for tenant \(issued.tenantID); it is shown only once")
            print(issued.plaintextKey)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List keys (ids and prefixes, never secrets).")
        @OptionGroup var admin: AdminOptions
        @Option(help: "Only this tenant's keys.") var tenant: String?
        @Flag(help: "Print a JSON array.") var json = false

        func run() async throws {
            let tenant = tenant
            let keys = try await admin.withStore { store, _ in
                if let tenant, try await store.tenants.get(tenant) == nil {
                    throw GovernanceError(.tenantNotFound, "tenant '\(tenant)' not found")
                }
                return try await store.keys.list(tenant: tenant)
            }
            if json {
                print(JSONValue.array(keys.map { k in
                    .object(["id": .string(k.id), "tenant": .string(k.tenantID), "prefix": .string(k.prefix),
                             "name": k.name.map(JSONValue.string) ?? .null, "created_at": .string(AdminTable.timestamp(k.createdAt)),
                             "revoked_at": k.revokedAt.map { .string(AdminTable.timestamp($0)) } ?? .null])
                }).serialized)
                return
            }
            print(AdminTable.render(["ID", "TENANT", "PREFIX", "NAME", "CREATED", "STATUS"], keys.map { k in
                [k.id, k.tenantID, k.prefix + "…", k.name ?? "-", AdminTable.timestamp(k.createdAt),
                 k.revokedAt.map { "revoked \(AdminTable.timestamp($0))" } ?? "active"]
            }))
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a key; it stops authenticating at once.")
        @OptionGroup var admin: AdminOptions
        @Argument(help: "Key id (key_…), as shown by 'airlock key list'.") var keyID: String
        @Option(help: "Who makes the change, for the admin audit log (default: $AIRLOCK_OPERATOR, else cli:$USER).") var by: String?

        func run() async throws {
            let keyID = keyID
            let key = try await admin.withAudit(by: by) { store, audit in
                let key = try await store.keys.revoke(keyID: keyID)
                try await audit.record("key.revoke", tenant: key.tenantID, target: key.id)
                return key
            }
            print("revoked key \(key.id) (tenant \(key.tenantID))")
        }
    }
}
