/// Where a plain `http://` request goes: host, port and the path with its query. Anything
/// else (`https://`, user info, a malformed authority) gives nil and the request takes the
/// general client, which handles TLS, HTTP/2 and certificate verification.
struct PlainHTTPTarget: Equatable {
    let host: String
    let port: Int
    let pathAndQuery: String
    /// `host:port` as the connection pool's key and the `Host` header's value.
    let authority: String

    init?(url: String) {
        let prefix = "http://"
        guard url.utf8.count > prefix.utf8.count, url.lowercased().hasPrefix(prefix) else { return nil }
        let rest = url.dropFirst(prefix.count)
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        var path = String(rest[authorityEnd...])
        if let fragment = path.firstIndex(of: "#") { path = String(path[..<fragment]) }
        if path.isEmpty || path.first == "?" { path = "/" + path }
        guard !authority.isEmpty, !authority.contains("@") else { return nil }

        var hostPart = Substring(authority)
        var portPart: Substring?
        if authority.first == "[" {
            // IPv6 literal: [addr] or [addr]:port
            guard let close = authority.firstIndex(of: "]") else { return nil }
            hostPart = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.first == ":" else { return nil }
                portPart = after.dropFirst()
            }
        } else if let colon = authority.lastIndex(of: ":") {
            hostPart = authority[..<colon]
            portPart = authority[authority.index(after: colon)...]
        }
        guard !hostPart.isEmpty, hostPart.allSatisfy({ !$0.isWhitespace && $0 != "/" }) else { return nil }
        var port = 80
        if let portPart {
            guard let p = Int(portPart), (1...65535).contains(p) else { return nil }
            port = p
        }
        // Control characters or spaces in the path would corrupt the request line.
        guard path.utf8.allSatisfy({ $0 > 0x20 && $0 != 0x7F }) else { return nil }
        self.host = String(hostPart)
        self.port = port
        self.pathAndQuery = path
        self.authority = self.host.contains(":") ? "[\(self.host)]:\(port)" : "\(self.host):\(port)"
    }
}
