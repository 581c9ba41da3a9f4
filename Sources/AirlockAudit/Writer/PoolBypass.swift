import Logging
import NIOCore
import PostgresNIO

/// The writer's way around its own pool. PostgresNIO's pool retries a lost server on a backoff
/// that grows to 60 s, so after a long outage it may reconnect long after PostgreSQL is back,
/// and meanwhile every query sent to it just waits: the spool would not be replayed, and fresh
/// events would keep going to the spool. Once a pool operation fails for want of a connection,
/// the writer uses one connection of its own (opened by `AuditWriterConfiguration.openConnection`,
/// reopened after any failure) until the pool answers again; the pool is asked in the
/// background, at most once a second.
struct PoolBypass {
    let open: @Sendable () async throws -> PostgresConnection
    let poolAnswers: @Sendable () async -> Bool
    let executor: LoopTaskExecutor?
    let logger: Logger
    private(set) var active = false
    private var connection: PostgresConnection?
    /// An opening that outlived the caller's deadline: the next caller picks it up (so a
    /// frozen server holds the writer no longer than its own deadline, and no late connection
    /// is left unclosed).
    private var opening: Task<PostgresConnection, any Error>?
    private var probe: (task: Task<Void, Never>, answered: LockedBox<Bool?>)?
    private var nextProbe = ContinuousClock.now

    init(open: @escaping @Sendable () async throws -> PostgresConnection, poolAnswers: @escaping @Sendable () async -> Bool,
         executor: LoopTaskExecutor?, logger: Logger) {
        self.open = open
        self.poolAnswers = poolAnswers
        self.executor = executor
        self.logger = logger
    }

    /// A pool operation failed with `error`. Only a failure to reach the server (a timeout, a
    /// lost or refused connection) says the pool is in trouble: an error the server sent back
    /// came through a working connection.
    mutating func poolFailed(with error: any Error) {
        guard !active, Self.isConnectivityFailure(error) else { return }
        active = true
        nextProbe = .now + .seconds(1)
        logger.notice("audit writer bypasses its database pool until the pool answers again")
    }

    static func isConnectivityFailure(_ error: any Error) -> Bool {
        if let error = error as? PSQLError { return error.serverInfo == nil }
        return error is TimeoutError || error is GivenUpError
    }

    /// The connection to use while active, opened if need be; throws when it cannot be opened
    /// (the server is gone) or is not open within `timeout` (`TimeoutError`; the opening goes on).
    mutating func openedConnection(within timeout: Duration) async throws -> PostgresConnection {
        if let connection { return connection }
        let task = opening ?? Task(executorPreference: executor) { [open] in try await open() }
        opening = task
        do {
            let opened = try await withTimeout(timeout, on: executor) { try await task.value }
            opening = nil
            connection = opened
            return opened
        } catch let timeout as TimeoutError {
            throw timeout  // the opening goes on; the next caller picks it up
        } catch {
            opening = nil
            throw error
        }
    }

    /// An operation on the connection failed or was abandoned: whatever it left half done
    /// (an open transaction, a statement still running) goes with the connection.
    mutating func dropConnection() {
        guard let dropped = connection else { return }
        connection = nil
        Task(executorPreference: executor) { try? await dropped.close() }
    }

    /// While active: ends the bypass when the last background probe found the pool answering,
    /// else starts the next probe when one is due.
    mutating func checkPool() {
        guard active else { return }
        if let probe, let answered = probe.answered.withLock({ $0 }) {
            self.probe = nil
            if answered {
                active = false
                dropConnection()
                logger.notice("audit writer is back on its database pool")
                return
            }
        }
        guard probe == nil, ContinuousClock.now >= nextProbe else { return }
        nextProbe = .now + .seconds(1)
        let answered = LockedBox<Bool?>(nil)
        let ask = poolAnswers
        probe = (Task(executorPreference: executor) { let up = await ask(); answered.withLock { $0 = up } }, answered)
    }

    /// Closes the connection and stops the probe (the writer is stopping).
    mutating func close() async {
        probe?.task.cancel()
        probe = nil
        if let opening, let late = try? await opening.value { try? await late.close() }
        opening = nil
        if let connection { try? await connection.close() }
        connection = nil
    }
}
