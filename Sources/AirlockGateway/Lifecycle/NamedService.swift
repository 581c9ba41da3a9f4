import Logging
import ServiceLifecycle
import Synchronization

/// Wraps one of the gateway's services so that shutdown says, per service, when it was asked
/// to stop and how long it took. A stop that hangs then names its culprit in the log.
/// (ServiceGroup's own lifecycle messages are debug-level library logs, which the gateway
/// holds back; see `LibraryLogFloor`.)
struct NamedService: Service, CustomStringConvertible {
    let name: String
    let service: any Service
    let logger: Logger

    var description: String { name }

    func run() async throws {
        let askedAt = Mutex<ContinuousClock.Instant?>(nil)
        defer {
            if let askedAt = askedAt.withLock({ $0 }) {
                let ms = (ContinuousClock.now - askedAt) / .milliseconds(1)
                logger.info("service stopped", metadata: ["service": .string(name), "stop_ms": "\(Int(ms))"])
            } else {
                logger.info("service ended", metadata: ["service": .string(name)])
            }
        }
        try await withGracefulShutdownHandler {
            try await service.run()
        } onGracefulShutdown: {
            askedAt.withLock { $0 = .now }
            logger.debug("stopping service", metadata: ["service": .string(name)])
        }
    }
}
