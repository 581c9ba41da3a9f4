import AirlockCore
import AirlockDetect
import AirlockGateway
import AirlockPolicy
import AirlockStore
import ArgumentParser
import Foundation

/// `airlock policy explain`: what the gateway would do with a prompt for a tenant — scan it,
/// evaluate the tenant's active policy (or the shipped default), plan the route over the
/// configured and stored providers — without calling any provider. Prints entity types,
/// code-point offsets and scores, never the values found.
struct PolicyExplainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explain",
        abstract: "Explain the decision and route the gateway would take for a prompt, calling no provider.",
        discussion: """
            The prompt is TEXT, --file F, or stdin. With --request the input is a whole \
            chat-completions JSON body, scanned the way the gateway does (message contents, \
            tool-call arguments, prompt/input); its "model" is used unless --model is given. \
            Uses the tenant's active policy from the database, or the default policy \
            (default_policy in the configuration, shipped in Policies/) when it has none. \
            Providers come from the configuration file/environment and the database; all are \
            assumed healthy. Output never contains the text found, only types, offsets and scores.
            """)

    @OptionGroup var admin: AdminOptions
    @Option(help: "Tenant id.") var tenant: String
    @Option(help: "Requested model (default: the request body's \"model\", else gpt-4o).") var model: String?
    @Option(help: "Declared data classification (as the x-airlock-classification header).") var classification: String?
    @Flag(help: "The input is a chat-completions JSON body, not a plain prompt.") var request = false
    @Option(help: "Read the input from this file ('-' for stdin).") var file: String?
    @Flag(help: "Print JSON.") var json = false
    @Argument(help: "The prompt (default: --file, else stdin).") var text: String?

    func validate() throws {
        if text != nil && file != nil { throw ValidationError("give the prompt as TEXT or with --file, not both") }
    }

    func run() async throws {
        let input = try readInput()
        let scanned = try scan(input)

        // Providers from the configuration file/environment, as the gateway builds them.
        let configuration: GatewayConfiguration
        do { configuration = try admin.common.loadConfiguration() } catch { throw AdminFailure.exit(for: error) }
        let configured = configuration.providers.map(\.providerConfig)

        let tenant = tenant
        let snapshot = try await admin.withStore { store, _ in
            let snapshot = try await store.loadSnapshot()
            guard snapshot.tenants[tenant] != nil else { throw GovernanceError(.tenantNotFound, "tenant '\(tenant)' not found") }
            if let version = snapshot.unloadablePolicies[tenant] {
                throw GovernanceError(.invalidDocument, "tenant '\(tenant)': active policy version \(version) no longer validates; the gateway fails closed for this tenant (see 'airlock policy show --tenant \(tenant)')")
            }
            return snapshot
        }
        if snapshot.tenants[tenant]?.disabled == true {
            printError("note: tenant \(tenant) is disabled; the gateway rejects its keys before any of this applies")
        }

        // The policy: the tenant's active version, else the configured default (Policies/default.yaml).
        let defaultPolicy: (policy: Policy, path: String)
        do { defaultPolicy = try ShippedPolicy.load(configuration.defaultPolicy) } catch {
            printError(AdminFailure.describe(error))
            throw ExitCode.failure
        }

        // Route over configuration + database providers (the database wins a name clash), plus
        // the local engine when its model file is installed.
        var sources: [String: String] = [:]
        var order: [String] = []
        var byName: [String: ProviderConfig] = [:]
        for (p, source) in configured.map({ ($0, "configuration") }) + snapshot.providers.providers.map({ ($0, "database") }) {
            if byName[p.name] == nil { order.append(p.name) }
            byName[p.name] = p
            sources[p.name] = source
        }
        var providers = order.compactMap { byName[$0] }
        let local = configuration.local
        if local.enabled, !providers.contains(where: \.isLocal), FileManager.default.fileExists(atPath: local.modelPath) {
            providers.append(ProviderConfig(name: "local", kind: .local, region: .local, models: [ProviderModel(name: local.modelAlias)]))
            sources["local"] = "local engine (\(local.modelPath))"
        }
        let explained = PolicyExplainer().explain(
            snapshot: snapshot, tenant: tenant, model: model, classification: classification, scanned: scanned,
            defaultPolicy: defaultPolicy.policy, defaultPolicyPath: defaultPolicy.path,
            providers: providers.map { PolicyExplainer.SourcedProvider($0, source: sources[$0.name] ?? "-") })

        if json {
            print(explained.jsonValue.serialized)
            return
        }

        print("tenant:       \(tenant)")
        print("model:        \(explained.model)" + (classification.map { ", classification \($0)" } ?? ""))
        print("input:        " + (request ? "request body, \(scanned.strings) string\(scanned.strings == 1 ? "" : "s") scanned"
                                          : "text, \(scanned.characters) characters"))
        print("policy from:  \(explained.policySource)")
        print(explained.explanation(explained.decision))
        if let shadow = explained.shadow {
            print("shadow policy (recorded only, not enforced):")
            print(explained.explanation(shadow).split(separator: "\n").map { "  " + $0 }.joined(separator: "\n"))
        }
        print("providers:    " + (providers.isEmpty ? "none configured" : providers.map { p in
            "\(p.name) (\(p.region.value), \(sources[p.name] ?? "-")\(p.enabled ? "" : ", disabled"))"
        }.joined(separator: ", ")))
        print(explained.plan.explanation)
        if let refusal = explained.plan.refusal, !refusal.ruleIDs.isEmpty {
            print("refused by:   \(refusal.ruleIDs.joined(separator: ", "))")
        }
    }

    // MARK: - Input and scanning

    func readInput() throws -> String {
        if let text { return text }
        let data: Data?
        if let file, file != "-" {
            data = FileManager.default.contents(atPath: file)
            if data == nil {
                printError("\(file): cannot read file")
                throw ExitCode.failure
            }
        } else {
            data = FileHandle.standardInput.readDataToEndOfFile()
        }
        guard let text = String(validating: data ?? Data(), as: UTF8.self) else {
            printError("\(file ?? "stdin"): input is not valid UTF-8")
            throw ExitCode.failure
        }
        return text
    }

    /// The gateway's scanner; for a request body, the same strings the gateway scans.
    func scan(_ input: String) throws -> PolicyExplainer.Scanned {
        let explainer = PolicyExplainer()
        guard request else { return explainer.scan(text: input) }
        let body: JSONValue
        do { body = try JSONValue(parsing: input) } catch {
            // The parser's message names a position, not the content.
            printError("--request: the input is not valid JSON (\(error))")
            throw ExitCode.failure
        }
        guard case .object = body else {
            printError("--request: the input must be a JSON object (a chat-completions body)")
            throw ExitCode.failure
        }
        return explainer.scan(request: body, characters: input.unicodeScalars.count)
    }
}

/// The gateway's default policy for tenants without one: a shipped policy by name
/// (`Policies/<name>.yaml`, found like `Migration.defaultDirectory()` finds Migrations/) or a path.
enum ShippedPolicy {
    static func load(_ nameOrPath: String) throws -> (policy: Policy, path: String) {
        let fm = FileManager.default
        if nameOrPath.hasSuffix(".yaml") || nameOrPath.contains("/") {
            return (try Policy.load(contentsOf: nameOrPath), nameOrPath)
        }
        for dir in directories() where fm.fileExists(atPath: dir + "/\(nameOrPath).yaml") {
            let path = dir + "/\(nameOrPath).yaml"
            return (try Policy.load(contentsOf: path), path)
        }
        throw AirlockError(.notReady, "default policy '\(nameOrPath)' not found (looked in $AIRLOCK_POLICIES_DIR, ./Policies and next to the migrations)")
    }

    static func directories() -> [String] {
        var dirs = [FileManager.default.currentDirectoryPath + "/Policies"]
        if let env = ProcessInfo.processInfo.environment["AIRLOCK_POLICIES_DIR"] { dirs.insert(env, at: 0) }
        dirs.append(URL(fileURLWithPath: Migration.defaultDirectory()).deletingLastPathComponent().appendingPathComponent("Policies").path)
        return dirs
    }
}
