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
        let requestedModel = model ?? scanned.model ?? "gpt-4o"

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
        let active = snapshot.activePolicy(tenant: tenant)
        let evaluator = active.map { PolicyEvaluator($0.policy, version: $0.version) } ?? PolicyEvaluator(defaultPolicy.policy)
        let context = RequestContext(tenant: tenant, model: requestedModel, classification: classification, callerRegion: nil)
        let findings = scanned.findings.map(\.finding)
        var decision = evaluator.evaluate(findings: findings, request: context)
        var shadow: Decision?
        let previous = decision.mode == .shadow ? snapshot.previousEnforcedPolicy(tenant: tenant) : nil
        if decision.mode == .shadow {
            // As in the gateway: a shadow policy is only recorded; the last enforce-mode version
            // (else the default policy) is enforced.
            shadow = decision
            decision = (previous.map { PolicyEvaluator($0.policy, version: $0.version) } ?? PolicyEvaluator(defaultPolicy.policy))
                .evaluate(findings: findings, request: context)
            decision.mode = .enforce
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
        let plan = RoutePlanner(providers: providers).plan(decision: decision, model: requestedModel)

        let policySource: String
        if let active {
            policySource = "database, active version \(active.version) (sha256 \(active.sha256.prefix(12)))"
                + (shadow == nil ? "" : ", in shadow mode: "
                    + (previous.map { "version \($0.version) (the last in enforce mode) is enforced" }
                        ?? "the default policy \(defaultPolicy.path) is enforced"))
        } else {
            policySource = "default policy \(defaultPolicy.path) (tenant \(tenant) has no active policy)"
        }

        if json {
            var out = JSONObject([
                ("tenant", .string(tenant)), ("model", .string(requestedModel)),
                ("classification", classification.map(JSONValue.string) ?? .null),
                ("input", .string(request ? "request" : "text")),
                ("policy_source", .object(JSONObject([
                    ("kind", .string(active == nil ? "default" : "database")),
                    ("version", active.map { .int($0.version) } ?? .null),
                    ("file", active == nil ? .string(defaultPolicy.path) : .null),
                ]))),
                ("enforced_policy", .object(JSONObject([
                    ("kind", .string(shadow == nil ? (active == nil ? "default" : "database") : (previous == nil ? "default" : "database"))),
                    ("version", shadow == nil ? (active.map { .int($0.version) } ?? .null) : (previous.map { .int($0.version) } ?? .null)),
                ]))),
                ("decision", Self.withPaths(decision.jsonValue(findings: findings), scanned.findings, request: request)),
            ])
            if let shadow { out["shadow_decision"] = Self.withPaths(shadow.jsonValue(findings: findings), scanned.findings, request: request) }
            out["providers"] = .array(providers.map { p in
                .object(JSONObject([("name", .string(p.name)), ("kind", .string(p.kind.rawValue)), ("region", .string(p.region.value)),
                                    ("enabled", .bool(p.enabled)), ("source", .string(sources[p.name] ?? "-"))]))
            })
            out["route"] = plan.jsonValue
            print(JSONValue.object(out).serialized)
            return
        }

        print("tenant:       \(tenant)")
        print("model:        \(requestedModel)" + (classification.map { ", classification \($0)" } ?? ""))
        print("input:        " + (request ? "request body, \(scanned.strings) string\(scanned.strings == 1 ? "" : "s") scanned"
                                          : "text, \(scanned.characters) characters"))
        print("policy from:  \(policySource)")
        print(Self.explanation(decision, scanned.findings, request: request))
        if let shadow {
            print("shadow policy (recorded only, not enforced):")
            print(Self.explanation(shadow, scanned.findings, request: request).split(separator: "\n").map { "  " + $0 }.joined(separator: "\n"))
        }
        print("providers:    " + (providers.isEmpty ? "none configured" : providers.map { p in
            "\(p.name) (\(p.region.value), \(sources[p.name] ?? "-")\(p.enabled ? "" : ", disabled"))"
        }.joined(separator: ", ")))
        print(plan.explanation)
        if let refusal = plan.refusal, !refusal.ruleIDs.isEmpty {
            print("refused by:   \(refusal.ruleIDs.joined(separator: ", "))")
        }
    }

    // MARK: - Input and scanning

    struct Located {
        var path: String?
        /// Code-point offsets into the scanned string.
        var finding: Finding
    }

    struct Scanned {
        var findings: [Located]
        var model: String?
        var strings: Int
        var characters: Int
    }

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
    func scan(_ input: String) throws -> Scanned {
        let scanner = AirlockDetect.Scanner()
        guard request else {
            let found = AirlockDetect.Scanner.codePointSpans(scanner.scan(input), in: input)
            return Scanned(findings: found.map { Located(path: nil, finding: $0) }, model: nil, strings: 1, characters: input.unicodeScalars.count)
        }
        let body: JSONValue
        do { body = try JSONValue(parsing: input) } catch {
            // The parser's message names a position, not the content.
            printError("--request: the input is not valid JSON (\(error))")
            throw ExitCode.failure
        }
        guard case .object(let object) = body else {
            printError("--request: the input must be a JSON object (a chat-completions body)")
            throw ExitCode.failure
        }
        var located: [Located] = []
        var strings = 0
        RequestTransformer.forEachUserString(in: body) { path, s in
            strings += 1
            for f in AirlockDetect.Scanner.codePointSpans(scanner.scan(s), in: s) { located.append(Located(path: path, finding: f)) }
        }
        return Scanned(findings: located, model: object["model"]?.stringValue, strings: strings, characters: input.unicodeScalars.count)
    }

    // MARK: - Rendering

    /// `Decision.explanation`, with each finding line naming where in the request it is.
    static func explanation(_ decision: Decision, _ located: [Located], request: Bool) -> String {
        let text = decision.explanation(findings: located.map(\.finding))
        guard request else { return text }
        var index = 0
        var inFindings = false
        return text.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            if line.hasPrefix("findings:") { inFindings = true; return String(line) }
            guard inFindings, line.hasPrefix("  ") else { inFindings = false; return String(line) }
            defer { index += 1 }
            guard index < located.count, let path = located[index].path else { return String(line) }
            return "\(line) in \(path)"
        }.joined(separator: "\n")
    }

    /// Adds each finding's JSON path to `Decision.jsonValue(findings:)` for request bodies.
    static func withPaths(_ value: JSONValue, _ located: [Located], request: Bool) -> JSONValue {
        guard request, case .object(var o) = value, case .array(var items)? = o["findings"] else { return value }
        for i in items.indices where i < located.count {
            if case .object(var item) = items[i], let path = located[i].path {
                item["path"] = .string(path)
                items[i] = .object(item)
            }
        }
        o["findings"] = .array(items)
        return .object(o)
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
