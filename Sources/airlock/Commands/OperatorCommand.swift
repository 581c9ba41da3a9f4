import AirlockCore
import AirlockStore
import ArgumentParser

/// `airlock operator create|list|revoke`: web console sign-in tokens. A token is printed
/// once, alone on stdout (`TOKEN=$(airlock operator create --name ana --role auditor)`);
/// only its SHA-256 is stored.
struct OperatorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "operator",
        abstract: "Create, list and revoke web console operators (roles: auditor, admin).",
        subcommands: [Create.self, List.self, Revoke.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an operator; prints its token once on stdout (details on stderr).")
        @OptionGroup var admin: AdminOptions
        @Option(help: "Who the operator is (shown in the console and the audit log).") var name: String
        @Option(help: "auditor (read-only: audit, reports, verification) or admin (also policies, keys, providers, holds, payloads).")
        var role: String
        @Option(help: "Who makes the change, for the admin audit log (default: $AIRLOCK_OPERATOR, else cli:$USER).") var by: String?

        func run() async throws {
            guard let role = ConsoleOperator.Role(rawValue: role.lowercased()) else {
                throw ValidationError("unknown role '\(role)'; expected auditor or admin")
            }
            let name = name
            let issued = try await admin.withAudit(by: by) { store, audit in
                let repo = OperatorRepository(client: store.client, logger: store.logger)
                let issued = try await repo.create(name: name, role: role)
                do {
                    try await audit.record("operator.create", target: issued.operatorAccount.id, details: ["role": role.rawValue])
                } catch var failure as AdminAuditFailure {
                    // No unaudited credential: revoke it again and never print it.
                    let revoked = (try? await repo.revoke(id: issued.operatorAccount.id)) != nil
                    failure.outcome = revoked ? "the new operator was revoked again and its token is not shown"
                                              : "the new operator could not be revoked either; revoke it with 'airlock operator revoke'"
                    throw failure
                }
                return issued
            }
            let o = issued.operatorAccount
            printError("created \(o.role.rawValue) operator \(o.id) (\(o.prefix)…) named \(o.name); the token is shown only once")
            print(issued.token)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List operators (ids, roles, prefixes; never tokens).")
        @OptionGroup var admin: AdminOptions
        @Flag(help: "Print a JSON array.") var json = false

        func run() async throws {
            let operators = try await admin.withStore { store, logger in
                try await OperatorRepository(client: store.client, logger: logger).list()
            }
            if json {
                print(JSONValue.array(operators.map { o in
                    .object(["id": .string(o.id), "name": .string(o.name), "role": .string(o.role.rawValue), "prefix": .string(o.prefix),
                             "created_at": .string(AdminTable.timestamp(o.createdAt)),
                             "revoked_at": o.revokedAt.map { .string(AdminTable.timestamp($0)) } ?? .null,
                             "last_sign_in_at": o.lastSignInAt.map { .string(AdminTable.timestamp($0)) } ?? .null])
                }).serialized)
                return
            }
            print(AdminTable.render(["ID", "NAME", "ROLE", "PREFIX", "CREATED", "LAST SIGN-IN", "STATUS"], operators.map { o in
                [o.id, o.name, o.role.rawValue, o.prefix + "…", AdminTable.timestamp(o.createdAt), o.lastSignInAt.map(AdminTable.timestamp) ?? "-",
                 o.revokedAt.map { "revoked \(AdminTable.timestamp($0))" } ?? "active"]
            }))
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke an operator's token; its console sessions end at their next request.")
        @OptionGroup var admin: AdminOptions
        @Argument(help: "Operator id (op_…), as shown by 'airlock operator list'.") var id: String
        @Option(help: "Who makes the change, for the admin audit log (default: $AIRLOCK_OPERATOR, else cli:$USER).") var by: String?

        func run() async throws {
            let id = id
            let o = try await admin.withAudit(by: by) { store, audit in
                let o = try await OperatorRepository(client: store.client, logger: store.logger).revoke(id: id)
                try await audit.record("operator.revoke", target: o.id)
                return o
            }
            print("revoked operator \(o.id) (\(o.name))")
        }
    }
}
