import Logging

/// Caps what third-party libraries may log, whatever level the operator chose.
///
/// The gateway passes its own `Logger` into PostgresNIO (client, queries), AsyncHTTPClient
/// (every upstream request) and Hummingbird. At `debug`/`trace` those libraries log wire
/// detail that can carry personal data: PostgresNIO logs backend messages and connection
/// actions (query text, bind values such as audit rows and key hashes), AsyncHTTPClient
/// logs request state, Hummingbird logs channel errors with their full description. Our
/// own code logs fixed messages with safe metadata at every level, so only records whose
/// `source` (the emitting module) is not one of Airlock's are held to `floor`; giving each
/// library its own capped logger instead would miss the per-query and per-request loggers
/// they receive from our call sites.
public struct LibraryLogFloor<Wrapped: LogHandler>: LogHandler {
    public var wrapped: Wrapped
    public let floor: Logger.Level

    public init(_ wrapped: Wrapped, floor: Logger.Level = .info) {
        self.wrapped = wrapped
        self.floor = floor
    }

    /// Airlock's modules (`AirlockGateway`, `AirlockStore`, …, and the `airlock` executable).
    static func isOwn(_ source: String) -> Bool {
        source.hasPrefix("Airlock") || source.hasPrefix("airlock")
    }

    public func log(event: LogEvent) {
        if event.level < floor && !Self.isOwn(event.source) { return }
        wrapped.log(event: event)
    }

    public var logLevel: Logger.Level {
        get { wrapped.logLevel }
        set { wrapped.logLevel = newValue }
    }

    public var metadata: Logger.Metadata {
        get { wrapped.metadata }
        set { wrapped.metadata = newValue }
    }

    public var metadataProvider: Logger.MetadataProvider? {
        get { wrapped.metadataProvider }
        set { wrapped.metadataProvider = newValue }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { wrapped[metadataKey: key] }
        set { wrapped[metadataKey: key] = newValue }
    }
}

/// `AIRLOCK_LOG_FORMAT`: `json` (one object per line) or `text` (swift-log's stream format).
public enum LogFormat: String, Sendable {
    case json, text

    /// The format named by the environment, else `fallback`.
    public static func from(environment: [String: String], fallback: LogFormat) -> LogFormat {
        environment["AIRLOCK_LOG_FORMAT"].flatMap { LogFormat(rawValue: $0.lowercased()) } ?? fallback
    }

    /// A handler factory for `LoggingSystem.bootstrap`, both formats behind the library floor.
    public func makeHandler(label: String) -> any LogHandler {
        switch self {
        case .json: LibraryLogFloor(JSONLogHandler(label: label))
        case .text: LibraryLogFloor(StreamLogHandler.standardError(label: label))
        }
    }
}
