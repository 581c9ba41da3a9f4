import AirlockPolicy
import Foundation
import Logging
import PostgresNIO

/// Upstream providers in PostgreSQL. The whole `ProviderConfig` is kept as JSON in
/// `providers.config` (kind, base URL, region and models are also columns, for reading the
/// table by hand). A provider names the environment variable holding its key, never the key.
public struct ProviderRepository: Sendable {
    public let client: PostgresClient
    public let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// What saving one provider did.
    public enum Change: String, Sendable { case added, updated, unchanged }

    /// Adds a new provider; `providerExists` when the name is taken.
    public func add(_ provider: ProviderConfig) async throws {
        try provider.validate()
        try await client.governanceTransaction(logger: logger) { connection in
            guard try await existing(provider.name, connection) == nil else {
                throw GovernanceError(.providerExists, "provider '\(provider.name)' already exists")
            }
            try await write(provider, connection)
        }
    }

    /// Replaces an existing provider; `providerNotFound` when there is none of that name.
    public func update(_ provider: ProviderConfig) async throws {
        try provider.validate()
        try await client.governanceTransaction(logger: logger) { connection in
            guard try await existing(provider.name, connection) != nil else {
                throw GovernanceError(.providerNotFound, "provider '\(provider.name)' not found")
            }
            try await write(provider, connection)
        }
    }

    /// Adds or replaces a provider.
    @discardableResult
    public func save(_ provider: ProviderConfig) async throws -> Change {
        try provider.validate()
        return try await client.governanceTransaction(logger: logger) { connection in try await upsert(provider, connection) }
    }

    public func remove(name: String) async throws {
        try await client.governanceTransaction(logger: logger) { connection in
            let rows = try await connection.query("DELETE FROM providers WHERE name = \(name) RETURNING name", logger: logger)
            var removed = false
            for try await _ in rows { removed = true }
            guard removed else { throw GovernanceError(.providerNotFound, "provider '\(name)' not found") }
            try await GovernanceChannel.providers.notify(name, on: connection, logger: logger)
        }
    }

    /// By priority, then name (the order the route planner tries them in, before weights).
    public func list() async throws -> [ProviderConfig] {
        try await client.withConnection { connection in try await Self.readAll(connection, logger: logger) }
    }

    public func get(_ name: String) async throws -> ProviderConfig? {
        try await client.withConnection { connection in try await existing(name, connection) }
    }

    public func catalog() async throws -> ProviderCatalog { ProviderCatalog(providers: try await list()) }

    /// Result of importing a providers file.
    public struct ImportSummary: Sendable, Equatable {
        public var added: [String] = []
        public var updated: [String] = []
        public var unchanged: [String] = []
        public var removed: [String] = []
    }

    /// Saves every provider of a validated catalog in one transaction; with `replacing`,
    /// providers missing from the catalog are removed, so the table then equals the file.
    public func importCatalog(_ catalog: ProviderCatalog, replacing: Bool = false) async throws -> ImportSummary {
        try await client.governanceTransaction(logger: logger) { connection in
            var summary = ImportSummary()
            for provider in catalog.providers {
                switch try await upsert(provider, connection, notify: false) {
                case .added: summary.added.append(provider.name)
                case .updated: summary.updated.append(provider.name)
                case .unchanged: summary.unchanged.append(provider.name)
                }
            }
            if replacing {
                let keep = catalog.providers.map(\.name)
                let rows = try await connection.query(
                    "DELETE FROM providers WHERE NOT (name = ANY(\(keep))) RETURNING name", logger: logger)
                for try await name in rows.decode(String.self) { summary.removed.append(name) }
                summary.removed.sort()
            }
            if !(summary.added.isEmpty && summary.updated.isEmpty && summary.removed.isEmpty) {
                try await GovernanceChannel.providers.notify("*", on: connection, logger: logger)
            }
            return summary
        }
    }

    // MARK: Rows

    private func upsert(_ provider: ProviderConfig, _ connection: PostgresConnection, notify: Bool = true) async throws -> Change {
        let before = try await existing(provider.name, connection)
        if before == provider { return .unchanged }
        try await write(provider, connection, notify: notify)
        return before == nil ? .added : .updated
    }

    private func existing(_ name: String, _ connection: PostgresConnection) async throws -> ProviderConfig? {
        let rows = try await connection.query("SELECT config::text FROM providers WHERE name = \(name) FOR UPDATE", logger: logger)
        for try await json in rows.decode(String.self) { return try Self.decode(json) }
        return nil
    }

    private func write(_ provider: ProviderConfig, _ connection: PostgresConnection, notify: Bool = true) async throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let config = String(decoding: try encoder.encode(provider), as: UTF8.self)
        let models = String(decoding: try encoder.encode(provider.models), as: UTF8.self)
        try await connection.query("""
            INSERT INTO providers (name, kind, base_url, region, models, config)
            VALUES (\(provider.name), \(provider.kind.rawValue), \(provider.baseURL), \(provider.region.value), \(models)::jsonb, \(config)::jsonb)
            ON CONFLICT (name) DO UPDATE SET kind = EXCLUDED.kind, base_url = EXCLUDED.base_url, region = EXCLUDED.region,
                models = EXCLUDED.models, config = EXCLUDED.config, updated_at = now()
            """, logger: logger)
        if notify { try await GovernanceChannel.providers.notify(provider.name, on: connection, logger: logger) }
    }

    static func readAll(_ connection: PostgresConnection, logger: Logger) async throws -> [ProviderConfig] {
        let rows = try await connection.query("SELECT config::text FROM providers", logger: logger)
        var providers: [ProviderConfig] = []
        for try await json in rows.decode(String.self) { providers.append(try decode(json)) }
        return providers.sorted { ($0.priority, $0.name) < ($1.priority, $1.name) }
    }

    static func decode(_ json: String) throws -> ProviderConfig {
        try JSONDecoder().decode(ProviderConfig.self, from: Data(json.utf8))
    }
}
