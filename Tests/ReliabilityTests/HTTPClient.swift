import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import TestScratch

/// One HTTP/1.1 exchange over a fresh TCP connection to 127.0.0.1, blocking: call it from a
/// thread of its own, never from the cooperative pool. The request target is sent byte for
/// byte (no URL type re-encodes it). Returns the status and body, or `nil` when the connection
/// failed or closed before a whole response arrived (a killed server).
func httpExchange(port: Int, method: String, target: [UInt8], headers: [(String, String)] = [], body: [UInt8] = []) -> (status: Int, body: [UInt8])? {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard descriptor >= 0 else { return nil }
    defer { close(descriptor) }
    var timeout = timeval(tv_sec: 30, tv_usec: 0)
    setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    setsockopt(descriptor, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard connected == 0 else { return nil }
    var head = Array("\(method) ".utf8) + target + Array(" HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n".utf8)
    for (name, value) in headers { head += Array("\(name): \(value)\r\n".utf8) }
    if !body.isEmpty || method == "PUT" || method == "POST" { head += Array("Content-Type: application/json\r\nContent-Length: \(body.count)\r\n".utf8) }
    let request = head + Array("\r\n".utf8) + body
    var sent = 0
    while sent < request.count {
        let count = request[sent...].withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        guard count > 0 else { return nil }
        sent += count
    }
    var received: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65_536)
    while true {
        let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
        if count == 0 { break }
        guard count > 0 else { return nil }
        received += buffer[0..<count]
    }
    let separator = Array("\r\n\r\n".utf8)
    guard let end = received.indices.first(where: { received[$0...].starts(with: separator) }) else { return nil }
    let headText = String(decoding: received[..<end], as: UTF8.self)
    let statusLine = headText.split(separator: "\r\n").first ?? ""
    guard let status = statusLine.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) else { return nil }
    let responseBody = Array(received[(end + 4)...])
    for line in headText.split(separator: "\r\n") where line.lowercased().hasPrefix("content-length:") {
        guard Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) == responseBody.count else { return nil }
    }
    return (status, responseBody)
}

/// An `agent-memory serve` child on a free port of 127.0.0.1.
struct ServeChild {
    let child: Child
    let port: Int

    /// Starts `agent-memory serve --port 0` with `arguments` (a store, tokens, ...) and waits for
    /// the line that gives its port; throws with its stderr when it exits first.
    static func start(_ arguments: [String], home: URL) async throws -> ServeChild {
        let child = try Child.start(
            ["serve", "--port", "0", "--rate-limit", "0"] + arguments, program: "agent-memory",
            environment: ["AGENT_MEMORY_HOME": home.path])
        while true {
            let text = (try? String(contentsOf: child.stdout, encoding: .utf8)) ?? ""
            if let range = text.range(of: #"serving http://127\.0\.0\.1:(\d+)"#, options: .regularExpression),
               let port = Int(text[range].split(separator: ":").last ?? "") {
                return ServeChild(child: child, port: port)
            }
            guard child.process.isRunning else {
                throw ChildFailure("agent-memory serve exited with \(child.process.terminationStatus): \(child.errors)")
            }
            try await Task.sleep(for: .milliseconds(10))
        }
    }
}

/// A child process that did not do what the test needed.
struct ChildFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Runs blocking work on a new thread and waits for it without holding a cooperative thread.
func onThread<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        Thread { continuation.resume(returning: work()) }.start()
    }
}
