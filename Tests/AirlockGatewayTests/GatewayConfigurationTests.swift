import AirlockCore
import Foundation
import Testing
@testable import AirlockGateway

@Suite struct GatewayConfigurationTests {
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test func shippedExampleConfigurationIsValid() throws {
        let text = try String(contentsOf: Self.repoRoot.appendingPathComponent("airlock.example.yaml"), encoding: .utf8)
        let config = try GatewayConfiguration.parse(yaml: text, file: "airlock.example.yaml")
        #expect(config.listen.port == 8080)
        #expect(config.limits.maxBodyBytes == 4 << 20)
        #expect(config.providers.map(\.name) == ["openai", "deepseek"])
        #expect(config.providers[1].region == "cn")
        #expect(config.providers[0].apiKeyEnv == "OPENAI_API_KEY")
    }

    @Test func emptyFileGivesDefaults() throws {
        let config = try GatewayConfiguration.parse(yaml: "")
        #expect(config == GatewayConfiguration())
    }

    @Test func auditBatchLingerReachesTheWriterAndIsBounded() throws {
        let keys = GatewayKeys(fingerprint: [], checkpoint: nil, payload: nil)
        let defaults = GatewayServer.auditWriterConfiguration(GatewayConfiguration().audit, chainID: "c1", keys: keys)
        // The journal is on, so events may wait 200 ms for their transaction.
        #expect(defaults.journal)
        #expect(defaults.batchLinger == .milliseconds(200))
        #expect(defaults.copyPacing == .standard)
        // Without the journal a killed process loses what waits in memory: the short linger.
        let unjournaled = try GatewayConfiguration.parse(yaml: "audit:\n  journal: false\n")
        #expect(!GatewayServer.auditWriterConfiguration(unjournaled.audit, chainID: "c1", keys: keys).journal)
        #expect(GatewayServer.auditWriterConfiguration(unjournaled.audit, chainID: "c1", keys: keys).batchLinger == .milliseconds(10))
        #expect(defaults.spoolDirectory == ".airlock/spool/c1")

        let config = try GatewayConfiguration.parse(yaml: "audit:\n  batch_linger_ms: 25\n")
        #expect(config.audit.batchLingerMilliseconds == 25)
        #expect(GatewayServer.auditWriterConfiguration(config.audit, chainID: "c1", keys: keys).batchLinger == .milliseconds(25))
        let off = try GatewayConfiguration.parse(yaml: "audit:\n  batch_linger_ms: 0\n")
        #expect(GatewayServer.auditWriterConfiguration(off.audit, chainID: "c1", keys: keys).batchLinger == .zero)

        for bad in ["-1", "1001", "soon"] {
            #expect(throws: AirlockError.self) { try GatewayConfiguration.parse(yaml: "audit:\n  journal: \(bad)\n") }
            #expect(throws: AirlockError.self) { try GatewayConfiguration.parse(yaml: "audit:\n  batch_linger_ms: \(bad)\n") }
        }
    }

    @Test func unknownKeysAreReportedWithTheirPath() {
        #expect(throws: AirlockError.self) { try GatewayConfiguration.parse(yaml: "listen:\n  prot: 9\n", file: "a.yaml") }
        do { _ = try GatewayConfiguration.parse(yaml: "listen:\n  prot: 9\n", file: "a.yaml") } catch {
            #expect(error.message.contains("a.yaml"))
            #expect(error.message.contains("listen.prot"))
        }
    }

    @Test func secretsInConfigurationAreRefused() {
        let yaml = "providers:\n  - name: x\n    base_url: https://x\n    api_key: sk-abc\n"
        do {
            _ = try GatewayConfiguration.parse(yaml: yaml, file: "c.yaml")
            Issue.record("a literal API key must be rejected")
        } catch {
            #expect(error.message.contains("api_key_env"))
            #expect(!error.message.contains("sk-abc"))
        }
    }

    @Test func wrongTypesAndValuesAreErrors() {
        #expect(throws: AirlockError.self) { try GatewayConfiguration.parse(yaml: "listen:\n  port: eighty\n") }
        #expect(throws: AirlockError.self) { try GatewayConfiguration.parse(yaml: "listen:\n  port: 70000\n") }
        #expect(throws: AirlockError.self) { try GatewayConfiguration.parse(yaml: "providers:\n  - name: a\n    base_url: ftp://x\n") }
        #expect(throws: AirlockError.self) { try GatewayConfiguration.parse(yaml: "providers:\n  - name: a\n    base_url: http://x\n  - name: a\n    base_url: http://y\n") }
        #expect(throws: AirlockError.self) { try GatewayConfiguration.parse(yaml: "listen: [1, 2]\n") }
        #expect(throws: AirlockError.self) { try GatewayConfiguration.parse(yaml: "a: : :\n  - b") }
    }

    @Test func environmentOverridesAndSingleUpstream() throws {
        var config = GatewayConfiguration()
        try config.applyEnvironment([
            "AIRLOCK_LISTEN_PORT": "9090",
            "AIRLOCK_DATABASE_URL": "postgres://u@h/db",
            "AIRLOCK_UPSTREAM_BASE_URL": "http://127.0.0.1:9/v1",
            "AIRLOCK_UPSTREAM_MODELS": "a, b ,c",
            "AIRLOCK_UPSTREAM_REGION": "kr",
            "AIRLOCK_UPSTREAM_API_KEY_ENV": "KR_KEY",
        ])
        #expect(config.listen.port == 9090)
        #expect(config.database.url == "postgres://u@h/db")
        #expect(config.providers.count == 1)
        #expect(config.providers[0].models == ["a", "b", "c"])
        let endpoints = config.endpoints(environment: ["KR_KEY": "secret"])
        #expect(endpoints[0].apiKey == "secret")
        #expect(endpoints[0].region == Region("kr"))
        #expect(throws: AirlockError.self) { var c = GatewayConfiguration(); try c.applyEnvironment(["AIRLOCK_LISTEN_PORT": "x"]) }
    }
}
