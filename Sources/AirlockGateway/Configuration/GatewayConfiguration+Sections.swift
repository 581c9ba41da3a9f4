import AirlockAudit
import Foundation

extension GatewayConfiguration {
    /// Who may call the gateway.
    public struct Auth: Sendable, Equatable, Codable {
        /// With `false`, calls without a key run as tenant `default` (a trial mode; never in production).
        public var required: Bool = true
        public init() {}
        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            required = try c.decodeIfPresent(Bool.self, forKey: .required) ?? true
        }
    }

    /// The in-process engine that answers when a prompt must not leave the host.
    public struct Local: Sendable, Equatable, Codable {
        public var modelPath: String = "models/SmolLM2-135M-Instruct.Q4_1.gguf"
        public var threads: Int = 2
        /// Listed in `/v1/models` and usable as a model name.
        public var modelAlias: String = "airlock-local"
        public var enabled: Bool = true
        enum CodingKeys: String, CodingKey { case modelPath = "model_path", threads, modelAlias = "model_alias", enabled }
        public init() {}
        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            modelPath = try c.decodeIfPresent(String.self, forKey: .modelPath) ?? "models/SmolLM2-135M-Instruct.Q4_1.gguf"
            threads = try c.decodeIfPresent(Int.self, forKey: .threads) ?? 2
            modelAlias = try c.decodeIfPresent(String.self, forKey: .modelAlias) ?? "airlock-local"
            enabled = try c.decodeIfPresent(Bool.self, forKey: .enabled) ?? true
        }
    }

    /// Where audit events go when the database is away, and the keys that sign and seal them.
    public struct Audit: Sendable, Equatable, Codable {
        public var spoolDirectory: String = ".airlock/spool"
        /// Unique per running instance; default: host, process id and start time.
        public var chainID: String?
        /// Names of environment variables holding keys (hex or base64, 32 bytes).
        public var checkpointKeyEnv: String = "AIRLOCK_AUDIT_CHECKPOINT_KEY"
        public var payloadKeyEnv: String = "AIRLOCK_AUDIT_PAYLOAD_KEY"
        public var retentionIntervalSeconds: Double = 3600
        /// The write-ahead journal (`AuditJournal`): events are journaled within about a
        /// millisecond, so a process killed outright loses almost nothing however long they
        /// then wait for their database transaction.
        public var journal = true
        /// How long an event may wait for others to share its database write (fail-closed
        /// calls never wait). Longer means fewer transactions; without the journal it also
        /// means more acknowledged-but-unwritten events if the process is killed outright.
        /// Nil: 200 ms with the journal, the writer's own default (10 ms) without.
        public var batchLingerMilliseconds: Double?
        static let journaledBatchLingerMilliseconds: Double = 200
        var effectiveBatchLingerMilliseconds: Double {
            batchLingerMilliseconds ?? (journal ? Self.journaledBatchLingerMilliseconds : AuditWriterConfiguration.defaultBatchLinger / .milliseconds(1))
        }
        enum CodingKeys: String, CodingKey {
            case spoolDirectory = "spool_dir", chainID = "chain_id", checkpointKeyEnv = "checkpoint_key_env"
            case payloadKeyEnv = "payload_key_env", retentionIntervalSeconds = "retention_interval_seconds"
            case batchLingerMilliseconds = "batch_linger_ms", journal
        }
        public init() {}
        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            spoolDirectory = try c.decodeIfPresent(String.self, forKey: .spoolDirectory) ?? ".airlock/spool"
            chainID = try c.decodeIfPresent(String.self, forKey: .chainID)
            checkpointKeyEnv = try c.decodeIfPresent(String.self, forKey: .checkpointKeyEnv) ?? "AIRLOCK_AUDIT_CHECKPOINT_KEY"
            payloadKeyEnv = try c.decodeIfPresent(String.self, forKey: .payloadKeyEnv) ?? "AIRLOCK_AUDIT_PAYLOAD_KEY"
            retentionIntervalSeconds = try c.decodeIfPresent(Double.self, forKey: .retentionIntervalSeconds) ?? 3600
            batchLingerMilliseconds = try c.decodeIfPresent(Double.self, forKey: .batchLingerMilliseconds)
            journal = try c.decodeIfPresent(Bool.self, forKey: .journal) ?? true
        }
    }

    /// How long policies and keys are trusted without the database.
    public struct Governance: Sendable, Equatable, Codable {
        /// Periodic reload, in addition to LISTEN/NOTIFY.
        public var reloadSeconds: Double = 10
        /// With the database unreachable longer than this, requests are refused (503), never
        /// waved through.
        public var maxStaleSeconds: Double = 300
        /// Environment variable with the key for finding fingerprints (HMAC-SHA256); when
        /// unset a key is generated once and kept beside the managed database.
        public var fingerprintKeyEnv: String = "AIRLOCK_FINGERPRINT_KEY"
        enum CodingKeys: String, CodingKey { case reloadSeconds = "reload_seconds", maxStaleSeconds = "max_stale_seconds", fingerprintKeyEnv = "fingerprint_key_env" }
        public init() {}
        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            reloadSeconds = try c.decodeIfPresent(Double.self, forKey: .reloadSeconds) ?? 10
            maxStaleSeconds = try c.decodeIfPresent(Double.self, forKey: .maxStaleSeconds) ?? 300
            fingerprintKeyEnv = try c.decodeIfPresent(String.self, forKey: .fingerprintKeyEnv) ?? "AIRLOCK_FINGERPRINT_KEY"
        }
    }
}
