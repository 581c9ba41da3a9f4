import AirlockAudit
import AirlockCore
import Crypto
import Foundation
import Logging

/// Keys the gateway needs, from the environment variables the configuration names. The
/// fingerprint key, which only has to be stable, is generated once and kept in `.airlock/`
/// when none is given; the audit keys are never invented (without them checkpoints are
/// unsigned and payloads are not captured, and the log says so).
struct GatewayKeys: Sendable {
    var fingerprint: [UInt8]
    var checkpoint: AuditKey?
    var payload: AuditKey?

    static func load(configuration: GatewayConfiguration, environment: [String: String], logger: Logger) throws -> GatewayKeys {
        let checkpoint = try AuditKey.fromEnvironment(configuration.audit.checkpointKeyEnv, purpose: "audit checkpoint", environment: environment)
        let payload = try AuditKey.fromEnvironment(configuration.audit.payloadKeyEnv, purpose: "audit payload", environment: environment)
        if checkpoint == nil { logger.warning("no audit checkpoint key configured; chain checkpoints are not signed", metadata: ["env": .string(configuration.audit.checkpointKeyEnv)]) }
        let fingerprint: [UInt8]
        if let text = environment[configuration.governance.fingerprintKeyEnv], !text.isEmpty {
            fingerprint = Array(SHA256.hash(data: Data(text.utf8)))
        } else {
            fingerprint = try persistedKey(at: ".airlock/fingerprint.key")
        }
        return GatewayKeys(fingerprint: fingerprint, checkpoint: checkpoint, payload: payload)
    }

    static func persistedKey(at path: String) throws -> [UInt8] {
        let fm = FileManager.default
        if let data = fm.contents(atPath: path), data.count == 32 { return Array(data) }
        try fm.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let key = SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) }
        guard fm.createFile(atPath: path, contents: Data(key), attributes: [.posixPermissions: 0o600]) else {
            throw AirlockError(.notReady, "cannot write the fingerprint key file \(path)")
        }
        return key
    }
}
