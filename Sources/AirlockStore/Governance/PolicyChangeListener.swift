import Logging
import PostgresNIO
import ServiceLifecycle

/// LISTENs on the governance channels over a dedicated connection (not the pool: a pooled
/// connection goes back to other work and its LISTEN with it) and calls `onEvent` for every
/// notification. When the connection dies it reports `.disconnected`, reconnects with
/// exponential backoff and jitter, and reports `.connected` once listening again, so the
/// cache on top knows to reload what it may have missed. Runs until cancelled or graceful
/// shutdown; it never throws because the database is away.
///
/// `onEvent` is awaited before the next notification of the same channel is delivered: keep
/// it short (mark the cache stale, wake a reload task) rather than reloading inline.
public struct PolicyChangeListener: Service {
    public struct Backoff: Sendable {
        public var initial: Duration
        public var maximum: Duration

        public init(initial: Duration = .milliseconds(250), maximum: Duration = .seconds(10)) {
            self.initial = initial
            self.maximum = maximum
        }
    }

    public let configuration: PostgresConnection.Configuration
    public let channels: [GovernanceChannel]
    public let backoff: Backoff
    /// A `SELECT 1` this often notices a connection that died without closing (a vanished
    /// host), which a listening socket alone would not.
    public let pingInterval: Duration
    public let logger: Logger
    private let onEvent: @Sendable (GovernanceEvent) async -> Void

    public init(configuration: PostgresConnection.Configuration, channels: [GovernanceChannel] = GovernanceChannel.allCases,
                backoff: Backoff = Backoff(), pingInterval: Duration = .seconds(15), logger: Logger,
                onEvent: @escaping @Sendable (GovernanceEvent) async -> Void) {
        self.configuration = configuration
        self.channels = channels
        self.backoff = backoff
        self.pingInterval = pingInterval
        self.logger = logger
        self.onEvent = onEvent
    }

    public init(url: DatabaseURL, channels: [GovernanceChannel] = GovernanceChannel.allCases, backoff: Backoff = Backoff(),
                pingInterval: Duration = .seconds(15), logger: Logger,
                onEvent: @escaping @Sendable (GovernanceEvent) async -> Void) throws {
        self.init(configuration: try url.connectionConfiguration(), channels: channels, backoff: backoff,
                  pingInterval: pingInterval, logger: logger, onEvent: onEvent)
    }

    public func run() async throws {
        try await cancelWhenGracefulShutdown { await self.listenUntilCancelled() }
    }

    private func listenUntilCancelled() async {
        var delay = backoff.initial
        var connectionID = 0
        while !Task.isCancelled {
            connectionID += 1
            var listened = false
            do {
                let connection = try await PostgresConnection.connect(configuration: configuration, id: connectionID, logger: logger)
                do {
                    listened = try await listenAll(connection, channels[...], [])
                } catch {
                    if !Task.isCancelled { logger.warning("policy listener cannot listen", metadata: ["error": .string(Self.describe(error))]) }
                }
                try? await connection.close()
            } catch {
                if !Task.isCancelled {
                    logger.warning("policy listener cannot connect", metadata: ["error": .string(Self.describe(error)), "retry_in": "\(delay)"])
                }
            }
            if listened {
                await onEvent(.disconnected)
                delay = backoff.initial
            }
            guard !Task.isCancelled else { break }
            // Jitter (±25 %) keeps a fleet of gateways from reconnecting in lockstep.
            try? await Task.sleep(for: delay * Double.random(in: 0.75...1.25))
            if !listened { delay = min(delay * 2, backoff.maximum) }
        }
    }

    /// LISTENs on every channel, one nested `listen` each so that all are established before
    /// `.connected` is reported; returns true once listening has ended (the connection is
    /// then unusable), throws when LISTEN itself failed.
    private func listenAll(
        _ connection: PostgresConnection, _ remaining: ArraySlice<GovernanceChannel>,
        _ acquired: [(GovernanceChannel, PostgresNotificationSequence)]
    ) async throws -> Bool {
        guard let channel = remaining.first else {
            await consume(connection, acquired)
            return true
        }
        return try await connection.listen(on: channel.rawValue) { stream in
            try await listenAll(connection, remaining.dropFirst(), acquired + [(channel, stream)])
        }
    }

    /// Delivers notifications from every channel, pinging alongside, until any stream ends
    /// or the ping fails (or the task is cancelled).
    private func consume(_ connection: PostgresConnection, _ streams: [(GovernanceChannel, PostgresNotificationSequence)]) async {
        logger.debug("policy listener listening", metadata: ["channels": .string(channels.map(\.rawValue).joined(separator: ","))])
        await onEvent(.connected)
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (channel, stream) in streams {
                    group.addTask {
                        for try await notification in stream {
                            await onEvent(GovernanceEvent(channel: channel, payload: notification.payload))
                        }
                        throw ListenerEnded()
                    }
                }
                group.addTask {
                    while true {
                        try await Task.sleep(for: pingInterval)
                        try await connection.query("SELECT 1", logger: logger)
                    }
                }
                defer { group.cancelAll() }
                try await group.next()
            }
        } catch {
            if !Task.isCancelled { logger.warning("policy listener connection lost", metadata: ["error": .string(Self.describe(error))]) }
        }
    }

    /// A notification stream finished: the connection closed or stopped listening.
    struct ListenerEnded: Error {}

    /// PSQLError's description hides details on purpose; its code is safe and useful.
    static func describe(_ error: any Error) -> String {
        if let e = error as? PSQLError { return "postgres \(e.code)" }
        return String(describing: type(of: error))
    }
}
