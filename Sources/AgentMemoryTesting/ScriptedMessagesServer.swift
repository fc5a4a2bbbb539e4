import ClaudeMessages
import AgentMemoryJSON
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A request the scripted server received.
public struct RecordedRequest: Sendable {
    /// The method, such as `POST`.
    public var method: String
    /// The path (with query), such as `/v1/messages`.
    public var path: String
    /// The header fields, names lowercased (a repeated field keeps its last value).
    public var headers: [String: String]
    /// The body bytes as received.
    public var body: [UInt8]

    /// The body as UTF-8 text.
    public var bodyText: String { String(decoding: body, as: UTF8.self) }
    /// The body parsed as JSON, or `nil`.
    public var json: JSONValue? { try? JSONValue(parsing: body) }
    /// The path without its query, such as `/v1/messages/count_tokens`.
    public var route: String { String(path.split(separator: "?", maxSplits: 1).first ?? "") }
    /// The request's `messages`, decoded, or `[]`.
    public var messages: [Message] {
        (json?["messages"]?.arrayValue ?? []).compactMap { try? Message(jsonValue: $0) }
    }
}

/// A Messages API server on 127.0.0.1 that answers with scripted responses, in order, and
/// records every request: for testing agents without an API key or a network.
///
/// Like the API, it answers `POST /v1/messages/count_tokens` itself (with
/// ``ScriptedAPIRules/tokenCount(of:)``, no scripted response used) and rejects a
/// `POST /v1/messages` whose conversation breaks the API's rules (an orphan `tool_result`, a
/// `tool_use` without its result, a misplaced `compaction` block) with a 400
/// `invalid_request_error`, also without using a scripted response; set
/// ``checksConversations`` to `false` to script such requests anyway.
///
/// It speaks real HTTP/1.1 over POSIX sockets (keep-alive, `Content-Length` and chunked
/// request bodies, `Expect: 100-continue`), one thread per connection.
///
/// ```swift
/// let server = try ScriptedMessagesServer()
/// server.enqueue(.error(status: 529, type: "overloaded_error", message: "Overloaded",
///                       headers: [("retry-after-ms", "10")]))
/// server.enqueue(.message(MessageResponse(id: "msg_1", model: "m", content: [.text("Hi")], stopReason: .endTurn)))
/// // point a client at server.baseURL
/// ```
public final class ScriptedMessagesServer: @unchecked Sendable {
    // `@unchecked`: every mutable member is guarded by `lock`.
    /// The TCP port it listens on (chosen by the system).
    public let port: Int
    private let listener: Int32
    private let lock = NSLock()
    private var script: [ScriptedResponse] = []
    private var recorded: [RecordedRequest] = []
    private var connections: Set<Int32> = []
    private var stopped = false
    /// Whether the accept thread still has the listener open (it closes it when it leaves).
    private var listening = true
    private var checking = true
    private var counting = true

    /// Starts listening on an ephemeral port of 127.0.0.1.
    public init() throws {
        #if os(Linux)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw ScriptedServerError("socket() failed: errno \(errno)") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 64) == 0 else {
            close(fd)
            throw ScriptedServerError("bind/listen on 127.0.0.1 failed: errno \(errno)")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        listener = fd
        port = Int(UInt16(bigEndian: address.sin_port))
        let thread = Thread { [self] in acceptLoop() }
        thread.name = "ScriptedMessagesServer.accept"
        thread.start()
    }

    deinit { stop() }

    /// `http://127.0.0.1:PORT`, for `ANTHROPIC_BASE_URL` or a client configuration.
    public var baseURL: URL { URL(string: "http://127.0.0.1:\(port)")! }

    /// Appends responses to the script; each request takes the next one.
    public func enqueue(_ responses: ScriptedResponse...) {
        enqueue(responses)
    }

    /// Appends responses to the script; each request takes the next one.
    public func enqueue(_ responses: [ScriptedResponse]) {
        lock.lock()
        script += responses
        lock.unlock()
    }

    /// The requests received so far, in order.
    public var requests: [RecordedRequest] {
        lock.lock()
        defer { lock.unlock() }
        return recorded
    }

    /// The `POST /v1/messages` requests received so far, in order (without token counts).
    public var messageRequests: [RecordedRequest] { requests.filter { $0.route == "/v1/messages" } }

    /// The `POST /v1/messages/count_tokens` requests received so far, in order.
    public var countTokensRequests: [RecordedRequest] { requests.filter { $0.route == "/v1/messages/count_tokens" } }

    /// Whether a `POST /v1/messages` that breaks the API's conversation rules is rejected (the default).
    public var checksConversations: Bool {
        get { lock.withLock { checking } }
        set { lock.withLock { checking = newValue } }
    }

    /// Whether `POST /v1/messages/count_tokens` is answered by the server itself (the default);
    /// set to `false` to script its responses (errors, retries) like any other request.
    public var countsTokens: Bool {
        get { lock.withLock { counting } }
        set { lock.withLock { counting = newValue } }
    }

    /// How many scripted responses are still unused.
    public var remainingResponses: Int {
        lock.lock()
        defer { lock.unlock() }
        return script.count
    }

    /// Waits until at least `count` requests have arrived, or `timeout` passed; returns whether they did.
    public func waitForRequests(_ count: Int, timeout: Duration = .seconds(10)) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while requests.count < count {
            if ContinuousClock.now >= deadline { return false }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return true
    }

    /// Stops listening and closes every open connection.
    ///
    /// Descriptors are only shut down here, under the lock, and closed by the thread that owns
    /// them: the accept thread closes the listener when `accept` fails, each connection's thread
    /// closes its socket after taking it out of `connections` under the lock. The test process
    /// runs other servers beside this one, and a descriptor number closed here while its thread
    /// still used it could be handed to one of their sockets, which that thread (or this
    /// shutdown) would then end: a client of the other server saw its connection closed
    /// before any response.
    public func stop() {
        lock.lock()
        defer { lock.unlock() }
        if stopped { return }
        stopped = true
        // Wakes the accept thread (`accept` fails on a shut-down socket), which closes it; a
        // thread that left already (an `accept` error) has closed it, and its number is not ours.
        if listening { shutdown(listener, Int32(SHUT_RDWR)) }
        for fd in connections { shutdown(fd, Int32(SHUT_RDWR)) }
    }

    // MARK: - Connections

    private func acceptLoop() {
        // The only place the listener is closed: no `accept` can run on its number afterwards,
        // and `stop()` no longer shuts it down once `listening` is false.
        defer {
            lock.withLock { listening = false }
            close(listener)
        }
        while true {
            let stopping = lock.withLock { stopped }
            if stopping { return }
            let fd = accept(listener, nil, nil)
            if fd < 0 {
                if errno == EINTR { continue }
                return
            }
            lock.lock()
            if stopped {
                lock.unlock()
                close(fd)
                return
            }
            connections.insert(fd)
            lock.unlock()
            var one: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            #if canImport(Darwin)
            setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, socklen_t(MemoryLayout<Int32>.size))
            #endif
            let thread = Thread { [self] in serve(fd) }
            thread.name = "ScriptedMessagesServer.connection"
            thread.start()
        }
    }

    private func serve(_ fd: Int32) {
        var connection = Connection(fd: fd)
        defer {
            // Out of the set first, under the lock: `stop()` shuts down only sockets still in it,
            // so never this number once it is closed and perhaps reused.
            lock.withLock { _ = connections.remove(fd) }
            close(fd)
        }
        while let request = connection.readRequest() {
            if let answer = automaticAnswer(request) {
                lock.withLock { recorded.append(request) }
                guard connection.write(answer) else { return }
                continue
            }
            lock.lock()
            recorded.append(request)
            let number = recorded.count
            let response = script.isEmpty ? nil : script.removeFirst()
            lock.unlock()
            guard let response else {
                let exhausted = ScriptedResponse.error(
                    status: 400, type: "invalid_request_error",
                    message: "ScriptedMessagesServer: no scripted response left for request \(number)",
                    headers: [("x-should-retry", "false")])
                guard connection.write(exhausted) else { return }
                continue
            }
            if response.delay > .zero { Thread.sleep(forTimeInterval: response.delay.seconds) }
            guard connection.write(response) else { return }
        }
    }
}

/// A failure to start the scripted server.
public struct ScriptedServerError: Error, CustomStringConvertible {
    /// What failed.
    public let description: String
    init(_ description: String) { self.description = description }
}

extension Duration {
    fileprivate var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}

/// One HTTP/1.1 connection: reads requests, writes scripted responses.
private struct Connection {
    let fd: Int32
    var buffer: [UInt8] = []

    init(fd: Int32) { self.fd = fd }

    /// Reads more bytes; false at end of stream or on error.
    mutating func fill() -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count > 0 {
                buffer += chunk[..<count]
                return true
            }
            if count < 0, errno == EINTR { continue }
            return false
        }
    }

    /// Reads up to and including the next CRLF; the line without it.
    mutating func readLine() -> [UInt8]? {
        while true {
            if let end = buffer.indices.dropLast().first(where: { buffer[$0] == 0x0D && buffer[$0 + 1] == 0x0A }) {
                let line = Array(buffer[..<end])
                buffer.removeFirst(end + 2)
                return line
            }
            guard fill() else { return nil }
        }
    }

    mutating func readBytes(_ count: Int) -> [UInt8]? {
        while buffer.count < count {
            guard fill() else { return nil }
        }
        let bytes = Array(buffer[..<count])
        buffer.removeFirst(count)
        return bytes
    }

    mutating func readRequest() -> RecordedRequest? {
        var requestLine: [UInt8] = []
        while requestLine.isEmpty {  // tolerate stray CRLFs between requests
            guard let line = readLine() else { return nil }
            requestLine = line
        }
        let parts = String(decoding: requestLine, as: UTF8.self).split(separator: " ")
        guard parts.count >= 2 else { return nil }
        var headers: [String: String] = [:]
        while true {
            guard let line = readLine() else { return nil }
            if line.isEmpty { break }
            let text = String(decoding: line, as: UTF8.self)
            guard let colon = text.firstIndex(of: ":") else { continue }
            headers[text[..<colon].lowercased()] = text[text.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        if headers["expect"]?.lowercased() == "100-continue" {
            guard send(Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)) else { return nil }
        }
        var body: [UInt8] = []
        if headers["transfer-encoding"]?.lowercased().contains("chunked") == true {
            while true {
                guard let sizeLine = readLine() else { return nil }
                let sizeText = String(decoding: sizeLine, as: UTF8.self).split(separator: ";").first.map(String.init) ?? ""
                guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16) else { return nil }
                if size == 0 {
                    while let trailer = readLine(), !trailer.isEmpty {}
                    break
                }
                guard let chunk = readBytes(size), readLine() != nil else { return nil }
                body += chunk
            }
        } else if let length = headers["content-length"].flatMap({ Int($0) }), length > 0 {
            guard let bytes = readBytes(length) else { return nil }
            body = bytes
        }
        return RecordedRequest(method: String(parts[0]), path: String(parts[1]), headers: headers, body: body)
    }

    /// Writes all bytes; false when the peer is gone.
    func send(_ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes.withUnsafeBytes { raw -> Int in
                #if os(Linux)
                return Glibc.send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
                #else
                return Darwin.send(fd, raw.baseAddress! + offset, raw.count - offset, 0)
                #endif
            }
            if sent < 0, errno == EINTR { continue }
            if sent <= 0 { return false }
            offset += sent
        }
        return true
    }

    /// Writes a scripted response; false when the connection must close.
    func write(_ response: ScriptedResponse) -> Bool {
        switch response.action {
        case .drop:
            shutdown(fd, Int32(SHUT_RDWR))
            return false
        case .respond(let status, let headers, let body):
            var head = "HTTP/1.1 \(status) \(Self.reason(status))\r\n"
            for (name, value) in headers { head += "\(name): \(value)\r\n" }
            head += "content-length: \(body.count)\r\n\r\n"
            return send(Array(head.utf8) + body)
        case .stream(let events, let interval, let cutAfter):
            let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n"
                + "request-id: req_scripted_stream\r\ntransfer-encoding: chunked\r\n\r\n"
            guard send(Array(head.utf8)) else { return false }
            for (number, event) in events.enumerated() {
                if let cutAfter, number >= cutAfter {
                    shutdown(fd, Int32(SHUT_RDWR))
                    return false
                }
                if number > 0, interval > .zero { Thread.sleep(forTimeInterval: interval.seconds) }
                let bytes = event.wireBytes
                guard send(Array((String(bytes.count, radix: 16) + "\r\n").utf8) + bytes + [0x0D, 0x0A]) else { return false }
            }
            if let cutAfter, cutAfter <= events.count {
                shutdown(fd, Int32(SHUT_RDWR))
                return false
            }
            return send(Array("0\r\n\r\n".utf8))
        }
    }

    static func reason(_ status: Int) -> String {
        switch status {
        case 200: return "OK"
        case 400: return "Bad Request"
        case 401: return "Unauthorized"
        case 404: return "Not Found"
        case 408: return "Request Timeout"
        case 409: return "Conflict"
        case 429: return "Too Many Requests"
        case 500: return "Internal Server Error"
        case 503: return "Service Unavailable"
        case 529: return "Overloaded"
        default: return "Status"
        }
    }
}
