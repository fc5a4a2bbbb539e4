/// One server-sent event.
public struct ServerSentEvent: Sendable, Hashable {
    /// The `event:` field (`message` when the event had none).
    public var event: String
    /// The `data:` lines joined by newlines.
    public var data: String

    /// Creates an event.
    public init(event: String, data: String) {
        self.event = event
        self.data = data
    }
}

/// An incremental parser of a `text/event-stream` body (the WHATWG rules): feed bytes as they
/// arrive, get the complete events back. Lines end in LF, CRLF or CR, even across chunks;
/// comment lines (`:`) are ignored; an event without data is not dispatched.
public struct ServerSentEventParser: Sendable {
    private var line: [UInt8] = []
    private var skipNextLineFeed = false
    private var eventName = ""
    private var dataLines: [String] = []
    private var sawData = false

    /// Creates a parser.
    public init() {}

    /// Consumes bytes and returns the events they complete.
    public mutating func feed(_ bytes: some Sequence<UInt8>) -> [ServerSentEvent] {
        var events: [ServerSentEvent] = []
        for byte in bytes {
            if skipNextLineFeed {
                skipNextLineFeed = false
                if byte == 0x0A { continue }
            }
            switch byte {
            case 0x0A:
                if let event = processLine() { events.append(event) }
            case 0x0D:
                skipNextLineFeed = true
                if let event = processLine() { events.append(event) }
            default:
                line.append(byte)
            }
        }
        return events
    }

    private mutating func processLine() -> ServerSentEvent? {
        defer { line.removeAll(keepingCapacity: true) }
        if line.isEmpty {
            defer {
                eventName = ""
                dataLines = []
                sawData = false
            }
            guard sawData else { return nil }
            return ServerSentEvent(event: eventName.isEmpty ? "message" : eventName, data: dataLines.joined(separator: "\n"))
        }
        if line.first == UInt8(ascii: ":") { return nil }
        let field: String
        var value: String
        if let colon = line.firstIndex(of: UInt8(ascii: ":")) {
            field = String(decoding: line[..<colon], as: UTF8.self)
            var valueStart = line.index(after: colon)
            if valueStart < line.endIndex, line[valueStart] == UInt8(ascii: " ") { valueStart += 1 }
            value = String(decoding: line[valueStart...], as: UTF8.self)
        } else {
            field = String(decoding: line, as: UTF8.self)
            value = ""
        }
        switch field {
        case "event": eventName = value
        case "data":
            dataLines.append(value)
            sawData = true
        default: value = ""  // `id`, `retry` and unknown fields do not matter here
        }
        return nil
    }
}
