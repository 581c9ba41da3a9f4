import AirlockCore
import PostgresNIO

/// A PostgreSQL location in libpq URL form: `postgres://user:pass@host:port/db`, or a Unix
/// socket folder via `?host=/path` (as libpq does) — the managed server uses the latter.
public struct DatabaseURL: Sendable, Equatable, CustomStringConvertible {
    public var username: String
    public var password: String?
    public var host: String
    public var port: Int
    public var database: String
    /// Folder holding the `.s.PGSQL.<port>` socket, when connecting over a Unix socket.
    public var socketDirectory: String?
    public var requireTLS: Bool

    public init(username: String, password: String? = nil, host: String = "127.0.0.1", port: Int = 5432,
                database: String, socketDirectory: String? = nil, requireTLS: Bool = false) {
        self.username = username
        self.password = password
        self.host = host
        self.port = port
        self.database = database
        self.socketDirectory = socketDirectory
        self.requireTLS = requireTLS
    }

    public init(parsing text: String) throws(AirlockError) {
        func bad(_ why: String) -> AirlockError { AirlockError(.invalidRequest, "invalid database URL: \(why)") }
        var rest = Substring(text)
        if rest.hasPrefix("postgres://") { rest = rest.dropFirst("postgres://".count) }
        else if rest.hasPrefix("postgresql://") { rest = rest.dropFirst("postgresql://".count) }
        else { throw bad("expected postgres:// or postgresql://") }
        var query = Substring("")
        if let q = rest.firstIndex(of: "?") { query = rest[rest.index(after: q)...]; rest = rest[..<q] }
        var path = Substring("")
        if let slash = rest.firstIndex(of: "/") { path = rest[rest.index(after: slash)...]; rest = rest[..<slash] }
        var user = "postgres"
        var password: String?
        if let at = rest.lastIndex(of: "@") {
            let userInfo = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = userInfo.firstIndex(of: ":") {
                user = DatabaseURL.percentDecode(userInfo[..<colon])
                password = DatabaseURL.percentDecode(userInfo[userInfo.index(after: colon)...])
            } else {
                user = DatabaseURL.percentDecode(userInfo)
            }
        }
        var host = rest.isEmpty ? "127.0.0.1" : String(rest)
        var port = 5432
        if let colon = rest.lastIndex(of: ":"), !rest.hasSuffix("]") {
            host = String(rest[..<colon])
            guard let p = Int(rest[rest.index(after: colon)...]), (1...65535).contains(p) else { throw bad("port must be 1-65535") }
            port = p
        }
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        var socketDirectory: String?
        var requireTLS = false
        for pair in query.split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1)
            guard kv.count == 2 else { continue }
            let value = DatabaseURL.percentDecode(kv[1])
            switch kv[0] {
            case "host": if value.hasPrefix("/") { socketDirectory = value } else { host = value }
            case "port": guard let p = Int(value) else { throw bad("port must be a number") }; port = p
            case "sslmode": requireTLS = ["require", "verify-ca", "verify-full"].contains(value)
            default: continue
            }
        }
        let db = DatabaseURL.percentDecode(path)
        self.init(username: user, password: password, host: host, port: port, database: db.isEmpty ? user : db,
                  socketDirectory: socketDirectory, requireTLS: requireTLS)
    }

    /// The socket file PostgreSQL creates in `socketDirectory`.
    public var socketPath: String? { socketDirectory.map { "\($0)/.s.PGSQL.\(port)" } }

    /// Never prints the password.
    public var description: String {
        let auth = password == nil ? username : "\(username):***"
        if let socketDirectory { return "postgres://\(auth)@/\(database)?host=\(socketDirectory)&port=\(port)" }
        return "postgres://\(auth)@\(host):\(port)/\(database)"
    }

    public var clientConfiguration: PostgresClient.Configuration {
        if let socketPath {
            return PostgresClient.Configuration(unixSocketPath: socketPath, username: username, password: password, database: database)
        }
        let tls: PostgresClient.Configuration.TLS = requireTLS ? .require(.makeClientConfiguration()) : .disable
        return PostgresClient.Configuration(host: host, port: port, username: username, password: password, database: database, tls: tls)
    }

    static func percentDecode(_ s: Substring) -> String {
        guard s.contains("%") else { return String(s) }
        var bytes: [UInt8] = []
        var it = Array(s.utf8)[...]
        while let b = it.popFirst() {
            if b == UInt8(ascii: "%"), it.count >= 2, let v = UInt8(String(decoding: it.prefix(2), as: UTF8.self), radix: 16) {
                bytes.append(v)
                it = it.dropFirst(2)
            } else {
                bytes.append(b)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
