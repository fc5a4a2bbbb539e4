import AgentMemoryJSON
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A response as the test client read it.
struct HTTPTestResponse: Sendable {
    var status: Int
    /// Header names lower-cased.
    var headers: [String: String]
    var body: [UInt8]

    var text: String { String(decoding: body, as: UTF8.self) }

    /// The body parsed as JSON (`.null` when it is not JSON).
    var json: JSONValue { (try? JSONValue(parsing: body)) ?? .null }
}

/// A minimal HTTP/1.1 client over a POSIX socket to 127.0.0.1: the request target is sent
/// byte for byte as given (no URL type re-encodes it), one connection per request. Blocking
/// socket calls run on a thread of their own, never on the cooperative pool the server shares.
struct HTTPTestClient: Sendable {
    let port: Int
    var token: String?

    init(port: Int, token: String? = nil) {
        self.port = port
        self.token = token
    }

    func get(_ target: String, headers: [(String, String)] = []) async throws -> HTTPTestResponse {
        try await send("GET", target, headers: headers)
    }

    func put(_ target: String, value: JSONValue, headers: [(String, String)] = []) async throws -> HTTPTestResponse {
        try await send("PUT", target, headers: headers, body: Array(JSONValue.object(["value": value]).jsonData()))
    }

    func delete(_ target: String, headers: [(String, String)] = []) async throws -> HTTPTestResponse {
        try await send("DELETE", target, headers: headers)
    }

    /// Sends one request and reads the whole response.
    func send(_ method: String, _ target: String, headers: [(String, String)] = [], body: [UInt8]? = nil) async throws -> HTTPTestResponse {
        let request = requestBytes(method, target, headers: headers, body: body)
        let port = self.port
        return try await onThread {
            let socket = try TestSocket(port: port)
            defer { socket.close() }
            try socket.write(request)
            return try socket.readResponse()
        }
    }

    /// Opens a streaming GET and reads until `marker` has appeared `count` times; returns what was read.
    func readStream(_ target: String, headers: [(String, String)] = [], until marker: String, count: Int) async throws -> String {
        let request = requestBytes("GET", target, headers: headers, body: nil)
        let port = self.port
        return try await onThread {
            let socket = try TestSocket(port: port)
            defer { socket.close() }
            try socket.write(request)
            var received: [UInt8] = []
            while String(decoding: received, as: UTF8.self).components(separatedBy: marker).count - 1 < count {
                let chunk = try socket.readSome()
                if chunk.isEmpty { break }
                received += chunk
            }
            return String(decoding: received, as: UTF8.self)
        }
    }

    private func requestBytes(_ method: String, _ target: String, headers: [(String, String)], body: [UInt8]?) -> [UInt8] {
        var head = "\(method) \(target) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n"
        if let token { head += "Authorization: Bearer \(token)\r\n" }
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        if let body {
            head += "Content-Type: application/json\r\nContent-Length: \(body.count)\r\n"
        }
        head += "\r\n"
        return Array(head.utf8) + (body ?? [])
    }

    private func onThread<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            // A thread of its own: Dispatch's global queues are as narrow as the machine on
            // Linux, and a blocked one would starve the server under test.
            let thread = Thread { continuation.resume(with: Result(catching: { try work() })) }
            thread.start()
        }
    }
}

struct TestSocketError: Error, CustomStringConvertible {
    let description: String
}

/// A connected TCP socket with a 60-second receive timeout, so a broken server fails a test
/// instead of hanging it.
final class TestSocket {
    private let fd: Int32
    private var buffered: [UInt8] = []

    init(port: Int) throws {
        #if canImport(Glibc)
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw TestSocketError(description: "socket() failed") }
        var timeout = timeval(tv_sec: 60, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            Glibc.close(fd)
            throw TestSocketError(description: "connect to 127.0.0.1:\(port) failed (errno \(errno))")
        }
    }

    func close() { _ = Glibc.close(fd) }

    func write(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard written > 0 else { throw TestSocketError(description: "send failed (errno \(errno))") }
            offset += written
        }
    }

    /// The next bytes from the socket (buffered first); empty at end of stream.
    func readSome() throws -> [UInt8] {
        if !buffered.isEmpty {
            defer { buffered = [] }
            return buffered
        }
        var chunk = [UInt8](repeating: 0, count: 65536)
        let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard count >= 0 else { throw TestSocketError(description: "recv failed or timed out (errno \(errno))") }
        return Array(chunk[0..<count])
    }

    /// Reads a full response: status line, headers, and a body by Content-Length, chunked
    /// encoding, or until the server closes.
    func readResponse() throws -> HTTPTestResponse {
        var data: [UInt8] = []
        var headerEnd: Int?
        while headerEnd == nil {
            let chunk = try readSome()
            guard !chunk.isEmpty else { throw TestSocketError(description: "connection closed before the headers ended") }
            data += chunk
            headerEnd = Self.find([13, 10, 13, 10], in: data)
        }
        let head = String(decoding: data[0..<headerEnd!], as: UTF8.self)
        var rest = Array(data[(headerEnd! + 4)...])
        let lines = head.components(separatedBy: "\r\n")
        let statusParts = lines[0].split(separator: " ")
        guard statusParts.count >= 2, let status = Int(statusParts[1]) else {
            throw TestSocketError(description: "bad status line \(lines[0])")
        }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        func readMore() throws -> Bool {
            let chunk = try readSome()
            rest += chunk
            return !chunk.isEmpty
        }
        var body: [UInt8] = []
        if let length = headers["content-length"].flatMap(Int.init) {
            while rest.count < length { guard try readMore() else { break } }
            body = Array(rest.prefix(length))
        } else if headers["transfer-encoding"]?.lowercased() == "chunked" {
            var offset = 0
            while true {
                var lineEnd = Self.find([13, 10], in: rest, from: offset)
                while lineEnd == nil { guard try readMore() else { break }; lineEnd = Self.find([13, 10], in: rest, from: offset) }
                guard let end = lineEnd else { break }
                let sizeText = String(decoding: rest[offset..<end], as: UTF8.self).split(separator: ";")[0]
                guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16) else { break }
                if size == 0 { break }
                let start = end + 2
                while rest.count < start + size + 2 { guard try readMore() else { break } }
                body += rest[start..<min(rest.count, start + size)]
                offset = start + size + 2
            }
        } else if status != 204 && status != 304 {
            while try readMore() {}
            body = rest
        }
        return HTTPTestResponse(status: status, headers: headers, body: body)
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int = 0) -> Int? {
        guard haystack.count >= needle.count + start else { return nil }
        for index in start...(haystack.count - needle.count) where haystack[index..<index + needle.count].elementsEqual(needle) {
            return index
        }
        return nil
    }
}
