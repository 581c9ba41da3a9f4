import AirlockGateway
import AirlockStore
import ArgumentParser
import Foundation
import Logging

/// `airlock bench gateway`: the latency Airlock adds and the throughput it sustains, measured
/// side by side with calling the same local upstream directly, in one run. It starts its own
/// PostgreSQL (unless a database URL is given), a mock upstream and the real `airlock serve`
/// (this same binary) as child processes, all on loopback, creates a tenant and key, warms
/// up, measures, stops everything again (also on failure) and prints one JSON object.
struct BenchGatewayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gateway",
        abstract: "Benchmark the gateway's added latency and throughput against a local upstream; prints JSON (build with -c release).")

    @Option(help: "Sequential request pairs (direct + through Airlock) for the plain c=1 measurement.")
    var requests = 2000
    @Option(help: "Sequential request pairs for the personal-data prompt.")
    var piiRequests = 1000
    @Option(help: "Sequential request pairs for streaming time-to-first-byte.")
    var streamRequests = 1000
    @Option(help: "Warm-up request pairs before each c=1 measurement.")
    var warmup = 300
    @Option(help: "Concurrent connections for the throughput measurement.")
    var concurrency = 32
    @Option(help: "Seconds of load per path (direct, then through Airlock).")
    var seconds = 10.0
    @Option(help: "Chunks in the upstream's SSE answer.")
    var streamChunks = 8
    @Option(help: "Measurements to run, comma-separated: plain, pii, stream, load.")
    var only = "plain,pii,stream,load"
    @Option(help: "PostgreSQL URL (default $AIRLOCK_DATABASE_URL, else a temporary managed server).")
    var databaseURL: String?
    @Option(help: "Log level of the measured gateway (default: the gateway's own default).")
    var serveLogLevel: String?
    @Flag(help: "Keep the temporary folder (logs, database) and print its path on stderr.")
    var keepWorkDir = false

    func validate() throws {
        guard requests > 0, piiRequests > 0, streamRequests > 0, warmup >= 0, concurrency > 0, seconds > 0, streamChunks > 0 else {
            throw ValidationError("counts, concurrency and seconds must be positive")
        }
        let known: Set<String> = ["plain", "pii", "stream", "load"]
        for part in selected where !known.contains(part) { throw ValidationError("unknown measurement '\(part)' in --only (plain, pii, stream, load)") }
    }

    var selected: [String] { only.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }.filter { !$0.isEmpty } }

    func run() async throws {
        LoggingBootstrap.once()
        let environment = ProcessInfo.processInfo.environment
        let resources = BenchGatewayResources()
        // Ctrl-C / SIGTERM cancel the measurement; cleanup below still runs.
        signal(SIGINT, SIG_IGN)
        signal(SIGTERM, SIG_IGN)
        let options = BenchGatewayOptions(requests: requests, piiRequests: piiRequests, streamRequests: streamRequests, warmup: warmup,
                                          concurrency: concurrency, seconds: seconds, streamChunks: streamChunks, selected: selected,
                                          databaseURL: databaseURL, serveLogLevel: serveLogLevel)
        let interrupted = BenchInterruptFlag()
        let task = Task { try await Self.measure(options, resources: resources, environment: environment) }
        let sources = [SIGINT, SIGTERM].map { sig -> DispatchSourceSignal in
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { interrupted.set(); task.cancel() }
            source.resume()
            return source
        }
        let result = await task.result
        sources.forEach { $0.cancel() }
        resources.cleanup(keepWorkDir: keepWorkDir)
        switch result {
        case .success(let json):
            print(json)
        case .failure(let error):
            let message = interrupted.isSet ? "interrupted" : "\(error)"
            printError("airlock bench gateway: " + message.replacingOccurrences(of: "\n", with: " "))
            throw ExitCode(1)
        }
    }

    static func measure(_ options: BenchGatewayOptions, resources: BenchGatewayResources, environment: [String: String]) async throws -> String {
        let exe = BenchSystem.executablePath()
        let work = try BenchSystem.makeWorkDirectory()
        resources.workDirectory = work

        // Database.
        var logger = Logger(label: "airlock.bench")
        logger.logLevel = .warning
        let databaseURL: String
        if let given = options.databaseURL ?? environment["AIRLOCK_DATABASE_URL"], !given.isEmpty {
            databaseURL = given
        } else {
            let managed = try ManagedPostgres(rootDirectory: work + "/pg")
            resources.postgres = managed
            do { try await managed.start(logger: logger) } catch { throw BenchFailure("could not start PostgreSQL: \(error)") }
            databaseURL = managed.url.description
        }

        // Children see none of our AIRLOCK_* settings, only the ones chosen here; they run in
        // the work folder so no ./airlock.yaml is picked up.
        var base = environment.filter { !$0.key.hasPrefix("AIRLOCK_") }
        base["AIRLOCK_DATABASE_URL"] = databaseURL
        base["AIRLOCK_MIGRATIONS_DIR"] = Migration.defaultDirectory()

        // Tenant and key.
        let tenant = "bench-\(UUID().uuidString.prefix(8).lowercased())"
        _ = try benchRun(exe, ["tenant", "create", tenant, "--name", tenant], environment: base, directory: work)
        let keyOutput = try benchRun(exe, ["key", "create", "--tenant", tenant, "--name", "bench"], environment: base, directory: work)
        guard let key = keyOutput.split(separator: "\n").last.map({ $0.trimmingCharacters(in: .whitespaces) }), !key.isEmpty else {
            throw BenchFailure("airlock key create printed no key")
        }

        // Mock upstream.
        let upstreamPort = try BenchSystem.freePort()
        let upstream = try BenchChild(name: "mock upstream", executable: exe,
                                      arguments: ["bench", "mock-upstream", "--port", "\(upstreamPort)", "--stream-chunks", "\(options.streamChunks)"],
                                      environment: base, directory: work, logPath: work + "/upstream.log")
        resources.children.append(upstream)

        // A bare proxy (Hummingbird in, Airlock's upstream transport out): the cost of the extra hop alone.
        let proxyPort = try BenchSystem.freePort()
        let proxy = try BenchChild(name: "bare proxy", executable: exe,
                                   arguments: ["bench", "mock-upstream", "--port", "\(proxyPort)", "--proxy-to", "http://127.0.0.1:\(upstreamPort)/v1"],
                                   environment: base, directory: work, logPath: work + "/proxy.log")
        resources.children.append(proxy)

        // The gateway.
        let policyPath = work + "/bench-policy.yaml"
        try BenchGatewayWorkload.policyYAML.write(toFile: policyPath, atomically: true, encoding: .utf8)
        let providerKey = "sk-bench-provider-0000000000000000"
        var serveEnv = base
        serveEnv["AIRLOCK_UPSTREAM_BASE_URL"] = "http://127.0.0.1:\(upstreamPort)/v1"
        serveEnv["AIRLOCK_UPSTREAM_NAME"] = "bench-upstream"
        serveEnv["AIRLOCK_UPSTREAM_REGION"] = "us-east"
        serveEnv["AIRLOCK_UPSTREAM_MODELS"] = "bench-chat,\(MockUpstreamServer.echoModel)"
        serveEnv["AIRLOCK_UPSTREAM_API_KEY_ENV"] = "AIRLOCK_BENCH_PROVIDER_KEY"
        serveEnv["AIRLOCK_BENCH_PROVIDER_KEY"] = providerKey
        serveEnv["AIRLOCK_LOCAL_MODEL"] = "/nonexistent/bench-no-local-model.gguf"
        serveEnv["AIRLOCK_DEFAULT_POLICY"] = policyPath
        serveEnv["AIRLOCK_AUDIT_SPOOL_DIR"] = work + "/spool"
        if let serveLogLevel = options.serveLogLevel { serveEnv["AIRLOCK_LOG_LEVEL"] = serveLogLevel }
        // A/B runs of the upstream transport (`off`: everything through AsyncHTTPClient).
        if let pinned = environment["AIRLOCK_UPSTREAM_PINNED"] { serveEnv["AIRLOCK_UPSTREAM_PINNED"] = pinned }
        let gatewayPort = try BenchSystem.freePort()
        let gateway = try BenchChild(name: "airlock serve", executable: exe, arguments: ["serve", "--host", "127.0.0.1", "--port", "\(gatewayPort)"],
                                     environment: serveEnv, directory: work, logPath: work + "/serve.log")
        resources.children.append(gateway)

        let client = GatewayBenchClient(connections: options.concurrency * 2)
        do {
            let json = try await BenchGatewayRun(command: options, client: client, upstream: upstream, gateway: gateway,
                                                 direct: .init(name: "upstream", url: "http://127.0.0.1:\(upstreamPort)/v1/chat/completions",
                                                               headers: [("authorization", "Bearer \(providerKey)")]),
                                                 airlock: .init(name: "airlock", url: "http://127.0.0.1:\(gatewayPort)/v1/chat/completions",
                                                                headers: [("authorization", "Bearer \(key)")]),
                                                 bareProxy: .init(name: "bare proxy", url: "http://127.0.0.1:\(proxyPort)/v1/chat/completions",
                                                                  headers: [("authorization", "Bearer \(providerKey)")]),
                                                 proxy: proxy, proxyPort: proxyPort,
                                                 upstreamPort: upstreamPort, gatewayPort: gatewayPort, externalDatabase: resources.postgres == nil).run()
            await client.shutdown()
            return json
        } catch {
            await client.shutdown()
            throw error
        }
    }
}

/// The command's settings as a Sendable value for the measuring task.
struct BenchGatewayOptions: Sendable {
    var requests: Int
    var piiRequests: Int
    var streamRequests: Int
    var warmup: Int
    var concurrency: Int
    var seconds: Double
    var streamChunks: Int
    var selected: [String]
    var databaseURL: String?
    var serveLogLevel: String?
}

final class BenchInterruptFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.withLock { value = true } }
    var isSet: Bool { lock.withLock { value } }
}

/// What a run started, so it can all be stopped whatever happened.
final class BenchGatewayResources: @unchecked Sendable {
    var workDirectory: String?
    var postgres: ManagedPostgres?
    var children: [BenchChild] = []

    func cleanup(keepWorkDir: Bool) {
        // The gateway first (it drains its audit queue into the database), then the upstream.
        for child in children.reversed() { child.stop() }
        if let postgres {
            var logger = Logger(label: "airlock.bench")
            logger.logLevel = .error
            do { try postgres.stop(logger: logger) } catch { printError("airlock bench gateway: could not stop PostgreSQL: \(error)") }
        }
        if let workDirectory {
            if keepWorkDir { printError("airlock bench gateway: work folder kept at \(workDirectory)") }
            else { try? FileManager.default.removeItem(atPath: workDirectory) }
        }
    }
}

/// `airlock bench mock-upstream` (hidden): the fast OpenAI-compatible upstream the gateway
/// benchmark measures against, as its own process.
struct BenchMockUpstreamCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mock-upstream", abstract: "Serve a fixed OpenAI-compatible answer on 127.0.0.1 (benchmark helper).",
        shouldDisplay: false)

    @Option(help: "Port on 127.0.0.1 (0 picks one).") var port = 0
    @Option(help: "Chunks in the SSE answer.") var streamChunks = 8
    @Option(help: "Be a bare proxy to this upstream base URL instead (e.g. http://127.0.0.1:P/v1).") var proxyTo: String?

    func run() async throws {
        LoggingBootstrap.once()
        var logger = Logger(label: "airlock.bench.upstream")
        logger.logLevel = .warning
        try await MockUpstreamServer.run(port: port, streamChunks: streamChunks, proxyTo: proxyTo, logger: logger) { bound in
            FileHandle.standardOutput.write(Data("listening on 127.0.0.1:\(bound)\n".utf8))
        }
    }
}
