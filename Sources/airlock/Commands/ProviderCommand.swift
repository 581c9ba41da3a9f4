import AirlockCore
import AirlockPolicy
import AirlockStore
import ArgumentParser
import Foundation

/// `airlock provider add|list|remove|import`. Providers name the environment variable that
/// holds their key (`--secret-env`), never the key.
struct ProviderCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "provider",
        abstract: "Manage the upstream providers the gateway may route to.",
        subcommands: [Add.self, List.self, Remove.self, Import.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a provider (or replace one with --replace).",
            discussion: "Example: airlock provider add openai --kind openai --base-url https://api.openai.com/v1 --region us --model gpt-4o --model o1 --price o1=15/60/7.5 --secret-env OPENAI_API_KEY")
        @OptionGroup var admin: AdminOptions
        @Argument(help: "Provider name (slug).") var name: String
        @Option(help: "openai, deepseek, azure-openai or local.") var kind: String
        @Option(help: "API base URL (https://…; none for local).") var baseURL: String?
        @Option(help: "Where the provider processes data: kr, us-east, eu-west, cn, … (local for the engine).") var region: String?
        @Option(name: .customLong("model"), help: "A model it serves (repeatable).") var models: [String] = []
        @Option(name: .customLong("alias"), help: "MODEL=ALIAS: another name clients may request (repeatable).") var aliases: [String] = []
        @Option(name: .customLong("price"), help: "MODEL=INPUT/OUTPUT[/CACHED_INPUT] in USD per million tokens (repeatable).") var prices: [String] = []
        @Option(name: .customLong("deployment"), help: "MODEL=DEPLOYMENT for Azure OpenAI (repeatable).") var deployments: [String] = []
        @Option(help: "Lower is tried first (default 100).") var priority = 100
        @Option(help: "Traffic share among equal priorities (default 1).") var weight = 1
        @Option(help: "Name of the environment variable holding the API key.") var secretEnv: String?
        @Option(help: "Azure OpenAI api-version.") var apiVersion: String?
        @Option(help: "Request timeout in seconds (default 120).") var timeout: Double = 120
        @Flag(help: "Store it disabled.") var disabled = false
        @Flag(help: "Replace an existing provider of that name.") var replace = false
        @Option(help: "Who makes the change, for the admin audit log (default: $AIRLOCK_OPERATOR, else cli:$USER).") var by: String?

        func run() async throws {
            let provider = try makeProvider()
            let replace = replace
            let change = try await admin.withAudit(by: by) { store, audit -> ProviderRepository.Change in
                let change: ProviderRepository.Change
                if replace { change = try await store.providers.save(provider) } else {
                    try await store.providers.add(provider)
                    change = .added
                }
                if change != .unchanged {
                    try await audit.record(change == .added ? "provider.add" : "provider.update", target: provider.name, details: [
                        "kind": provider.kind.rawValue, "region": provider.region.value, "models": String(provider.models.count),
                        "enabled": String(provider.enabled),
                    ])
                }
                return change
            }
            print("\(change.rawValue) provider \(provider.name) (\(provider.kind), \(provider.region), \(provider.models.count) model\(provider.models.count == 1 ? "" : "s"))")
        }

        func makeProvider() throws -> ProviderConfig {
            guard let kind = ProviderKind(rawValue: kind) else {
                throw ValidationError("unknown --kind '\(kind)' (expected \(ProviderKind.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            guard !models.isEmpty else { throw ValidationError("give at least one --model") }
            var byName = models.map { ProviderModel(name: $0) }
            func pairs(_ items: [String], _ option: String) throws -> [(Int, String)] {
                try items.map { item in
                    let parts = item.split(separator: "=", maxSplits: 1).map(String.init)
                    guard parts.count == 2, let index = byName.firstIndex(where: { $0.name == parts[0] }) else {
                        throw ValidationError("--\(option) '\(item)' must be MODEL=VALUE for a model given with --model")
                    }
                    return (index, parts[1])
                }
            }
            for (i, alias) in try pairs(aliases, "alias") { byName[i].aliases.append(alias) }
            for (i, deployment) in try pairs(deployments, "deployment") { byName[i].deployment = deployment }
            for (i, price) in try pairs(prices, "price") {
                let numbers = price.split(separator: "/").map { Double($0) }
                guard (2...3).contains(numbers.count), numbers.allSatisfy({ $0 != nil }) else {
                    throw ValidationError("--price must look like MODEL=INPUT/OUTPUT[/CACHED_INPUT]")
                }
                byName[i].price = TokenPrice(cachedInput: numbers.count == 3 ? numbers[2] : nil, input: numbers[0]!, output: numbers[1]!)
            }
            guard let region = region ?? (kind == .local ? "local" : nil) else { throw ValidationError("give --region (e.g. us, kr, eu-west)") }
            return ProviderConfig(name: name, kind: kind, baseURL: baseURL, region: Region(region),
                                  models: byName, priority: priority, weight: weight, secretEnv: secretEnv, apiVersion: apiVersion,
                                  timeoutSeconds: timeout, enabled: !disabled)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List providers in routing order.")
        @OptionGroup var admin: AdminOptions
        @Flag(help: "Print the catalog as JSON (the providers file's fields).") var json = false

        func run() async throws {
            let providers = try await admin.withStore { store, _ in try await store.providers.list() }
            if json {
                print(JSONValue.array(providers.map(\.listingJSON)).serialized)
                return
            }
            print(AdminTable.render(["NAME", "KIND", "REGION", "PRIORITY", "WEIGHT", "STATUS", "SECRET ENV", "MODELS"], providers.map { p in
                [p.name, p.kind.rawValue, p.region.value, String(p.priority), String(p.weight), p.enabled ? "enabled" : "disabled",
                 p.secretEnv ?? "-",
                 p.models.map { m in m.aliases.isEmpty ? m.name : "\(m.name) (\(m.aliases.joined(separator: ", ")))" }.joined(separator: ", ")]
            }))
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a provider.")
        @OptionGroup var admin: AdminOptions
        @Argument(help: "Provider name.") var name: String
        @Option(help: "Who makes the change, for the admin audit log (default: $AIRLOCK_OPERATOR, else cli:$USER).") var by: String?

        func run() async throws {
            let name = name
            try await admin.withAudit(by: by) { store, audit in
                try await store.providers.remove(name: name)
                try await audit.record("provider.remove", target: name)
            }
            print("removed provider \(name)")
        }
    }

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Import a providers YAML file (kind: Providers).")
        @OptionGroup var admin: AdminOptions
        @Argument(help: "Providers file, e.g. Policies/providers.yaml.") var file: String
        @Flag(help: "Also remove providers the file does not list.") var replace = false
        @Option(help: "Who makes the change, for the admin audit log (default: $AIRLOCK_OPERATOR, else cli:$USER).") var by: String?

        func run() async throws {
            let catalog: ProviderCatalog
            do { catalog = try ProviderCatalog.load(contentsOf: file) } catch {
                printError(error.description)
                throw ExitCode.failure
            }
            let replace = replace
            let source = URL(fileURLWithPath: file).lastPathComponent
            let s = try await admin.withAudit(by: by) { store, audit in
                let s = try await store.providers.importCatalog(catalog, replacing: replace)
                if !(s.added.isEmpty && s.updated.isEmpty && s.removed.isEmpty) {
                    try await audit.record("provider.import", target: source, details: [
                        "added": s.added.joined(separator: ","), "updated": s.updated.joined(separator: ","),
                        "removed": s.removed.joined(separator: ","), "unchanged": String(s.unchanged.count),
                    ])
                }
                return s
            }
            print("imported \(file): \(s.added.count) added, \(s.updated.count) updated, \(s.unchanged.count) unchanged, \(s.removed.count) removed")
        }
    }
}

extension ProviderConfig {
    /// JSON with the providers file's field names.
    var listingJSON: JSONValue {
        var o: JSONObject = [
            "name": .string(name), "kind": .string(kind.rawValue), "region": .string(region.value),
            "base_url": baseURL.map(JSONValue.string) ?? .null, "priority": .int(priority), "weight": .int(weight),
            "secret_env": secretEnv.map(JSONValue.string) ?? .null, "enabled": .bool(enabled),
        ]
        if let apiVersion { o["api_version"] = .string(apiVersion) }
        o["models"] = .array(models.map { m in
            var mo: JSONObject = ["name": .string(m.name), "aliases": .array(m.aliases.map(JSONValue.string))]
            if let d = m.deployment { mo["deployment"] = .string(d) }
            if let p = m.price {
                mo["price"] = .object(["input": .number(String(p.input)), "output": .number(String(p.output)),
                                       "cached_input": p.cachedInput.map { .number(String($0)) } ?? .null])
            }
            return .object(mo)
        })
        return .object(o)
    }
}
