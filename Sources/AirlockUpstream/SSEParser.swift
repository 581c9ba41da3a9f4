/// Incremental Server-Sent Events parser (WHATWG rules): feed bytes as they arrive, get
/// back whole events. Lines may end in LF, CR or CRLF and be split across any chunks.
public struct SSEParser: Sendable {
    public struct Event: Sendable, Equatable {
        public var event: String?
        public var data: String
        public var id: String?
        public init(event: String? = nil, data: String, id: String? = nil) {
            self.event = event
            self.data = data
            self.id = id
        }
    }

    /// Bound on one unterminated line and on one event (all its lines together), so a hostile
    /// upstream cannot grow memory forever, neither with one endless line nor with endless
    /// `data:` lines that never reach the blank line ending the event.
    public let maxLineBytes: Int
    private var line: [UInt8] = []
    private var dataLines: [String] = []
    private var eventBytes = 0
    private var eventName: String?
    private var eventID: String?
    private var sawCR = false
    private var hasFields = false

    public init(maxLineBytes: Int = 8 << 20) { self.maxLineBytes = maxLineBytes }

    public enum ParseError: Error, Equatable { case lineTooLong, eventTooLarge }

    public mutating func feed<Bytes: Sequence>(_ bytes: Bytes) throws(ParseError) -> [Event] where Bytes.Element == UInt8 {
        var events: [Event] = []
        for b in bytes {
            if sawCR {
                sawCR = false
                if b == 0x0A { continue }
            }
            if b == 0x0A || b == 0x0D {
                if b == 0x0D { sawCR = true }
                if let e = try endLine() { events.append(e) }
            } else {
                line.append(b)
                if line.count > maxLineBytes { throw .lineTooLong }
            }
        }
        return events
    }

    /// Call at end of stream: an event without its blank line is still delivered.
    public mutating func finish() -> Event? {
        if !line.isEmpty { _ = try? endLine() }
        return dispatch()
    }

    private mutating func endLine() throws(ParseError) -> Event? {
        defer { line.removeAll(keepingCapacity: true) }
        if line.isEmpty { return dispatch() }
        if line.first == UInt8(ascii: ":") { return nil }  // comment / keep-alive
        var field: Substring
        var value: Substring
        let text = String(decoding: line, as: UTF8.self)
        if let colon = text.firstIndex(of: ":") {
            field = text[..<colon]
            value = text[text.index(after: colon)...]
            if value.first == " " { value = value.dropFirst() }
        } else {
            field = Substring(text)
            value = ""
        }
        switch field {
        case "data":
            eventBytes += value.utf8.count + 1
            if eventBytes > maxLineBytes { throw .eventTooLarge }
            dataLines.append(String(value)); hasFields = true
        case "event": eventName = String(value); hasFields = true
        case "id": eventID = String(value); hasFields = true
        default: break
        }
        return nil
    }

    private mutating func dispatch() -> Event? {
        defer { dataLines.removeAll(); eventName = nil; hasFields = false; eventBytes = 0 }
        guard hasFields, !dataLines.isEmpty else { return nil }
        return Event(event: eventName, data: dataLines.joined(separator: "\n"), id: eventID)
    }
}

extension SSEParser.Event {
    /// Wire form: `data:` lines and a blank line.
    public var encoded: [UInt8] {
        var out: [UInt8] = []
        if let event { out += Array("event: \(event)\n".utf8) }
        if let id { out += Array("id: \(id)\n".utf8) }
        for line in data.split(separator: "\n", omittingEmptySubsequences: false) {
            out += Array("data: ".utf8)
            out += Array(line.utf8)
            out.append(0x0A)
        }
        out.append(0x0A)
        return out
    }
}
