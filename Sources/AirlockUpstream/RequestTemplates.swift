import NIOHTTP1
import Synchronization

/// What every request to one provider URL shares — where it goes and its fixed headers —
/// worked out once instead of on every call (parsing the URL and building the headers was
/// ~10 µs of a call's ~0.2 ms of work).
final class RequestTemplates: Sendable {
    struct Key: Hashable {
        var url: String
        var kind: ProviderEndpoint.Kind
        var apiKey: String?
    }

    struct Template: Sendable {
        /// Nil for anything but plain `http://` (those go through AsyncHTTPClient).
        let target: PlainHTTPTarget?
        /// Content type, accept and credentials; the pinned path's also carry `host`.
        let headers: HTTPHeaders
        let pinnedHeaders: HTTPHeaders
        /// False when a configured value (an API key read with its trailing newline, say)
        /// cannot be sent in a header: such requests are refused, not sent.
        let sendable: Bool
    }

    /// Providers come from configuration and the database: a handful of URLs. The bound only
    /// keeps a churning catalogue from growing the table without end.
    private static let capacity = 256
    private let table = Mutex<[Key: Template]>([:])

    func template(url: String, endpoint: ProviderEndpoint) -> Template {
        let key = Key(url: url, kind: endpoint.kind, apiKey: endpoint.apiKey)
        if let known = table.withLock({ $0[key] }) { return known }
        let headers = UpstreamClient.fixedHeaders(for: endpoint)
        let target = PlainHTTPTarget(url: url)
        var pinned = headers
        if let target { pinned.add(name: "host", value: target.authority) }
        // Checked here once, so the pinned connections can skip NIO's validator, which walks
        // every header of every request; the per-call additions are checked by the caller.
        let made = Template(target: target, headers: headers, pinnedHeaders: pinned,
                            sendable: pinned.allSatisfy { Self.isSendable($0.value) })
        table.withLock {
            if $0.count >= Self.capacity { $0.removeAll(keepingCapacity: true) }
            $0[key] = made
        }
        return made
    }

    /// A header value without control characters other than tab (RFC 9110 field-value):
    /// no CR or LF to end the header early, no NUL.
    static func isSendable(_ value: String) -> Bool {
        value.utf8.allSatisfy { $0 >= 0x20 ? $0 != 0x7F : $0 == 0x09 }
    }
}
