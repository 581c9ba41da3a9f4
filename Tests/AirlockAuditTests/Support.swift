import PostgresNIO

/// Sendable handle for passing a client into helpers.
struct PostgresClientBox: Sendable { let client: PostgresClient }
