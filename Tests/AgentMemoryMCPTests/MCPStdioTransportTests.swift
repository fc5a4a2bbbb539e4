import AgentMemoryCore
import AgentMemoryMCP
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The stdio transport of `agent-memory mcp` over pipes: lines as they arrive, however the
/// writes cut them, to the end of input; answers written whole with their newline.
@Suite("MCP: the stdio transport")
struct MCPStdioTransportTests {
    /// A pipe's read and write descriptors.
    static func makePipe() throws -> (read: Int32, write: Int32) {
        var descriptors: [Int32] = [0, 0]
        try #require(pipe(&descriptors) == 0)
        return (descriptors[0], descriptors[1])
    }

    static func writeAll(_ text: String, to descriptor: Int32) {
        let bytes = Array(text.utf8)
        #expect(bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) } == bytes.count)
    }

    static func collect(_ transport: MCPStdioTransport) async throws -> [String] {
        var lines: [String] = []
        for try await message in await transport.receive() { lines.append(String(decoding: message, as: UTF8.self)) }
        return lines
    }

    /// A transport connected to a new pipe's read end (made non-blocking when asked), a task
    /// collecting its messages, and the pipe.
    static func connected(nonBlocking: Bool = false) async throws
        -> (transport: MCPStdioTransport, reader: Task<[String], any Error>, input: (read: Int32, write: Int32)) {
        let input = try makePipe()
        if nonBlocking { #expect(fcntl(input.read, F_SETFL, fcntl(input.read, F_GETFL) | O_NONBLOCK) == 0) }
        let transport = MCPStdioTransport(input: input.read, output: STDERR_FILENO)
        try await transport.connect()
        return (transport, Task { try await collect(transport) }, input)
    }

    @Test func linesAsTheyArriveToTheEndOfInput() async throws {
        let (_, reader, input) = try await Self.connected()
        // A line cut across writes, two in one write, empty lines, and a last line without a
        // newline, written while the transport's thread waits for input.
        Self.writeAll("{\"id\":1,", to: input.write)
        try await Task.sleep(for: .milliseconds(20))
        Self.writeAll("\"x\":\"é\"}\n{\"id\":2}\n\n", to: input.write)
        try await Task.sleep(for: .milliseconds(20))
        Self.writeAll("{\"id\":3}\n{\"id\":4}", to: input.write)
        close(input.write)
        #expect(try await reader.value == ["{\"id\":1,\"x\":\"é\"}", "{\"id\":2}", "{\"id\":3}", "{\"id\":4}"])
        close(input.read)
    }

    /// Input someone made non-blocking is still waited for (not read as an error or an end).
    @Test func nonBlockingInputIsWaitedFor() async throws {
        let (_, reader, input) = try await Self.connected(nonBlocking: true)
        try await Task.sleep(for: .milliseconds(30))
        Self.writeAll("{\"late\":true}\n", to: input.write)
        close(input.write)
        #expect(try await reader.value == ["{\"late\":true}"])
        close(input.read)
    }

    @Test func answersAreWrittenWholeWithANewline() async throws {
        let output = try Self.makePipe()
        let transport = MCPStdioTransport(input: STDIN_FILENO, output: output.write)
        let answer = "{\"result\":\"" + String(repeating: "ü", count: 40_000) + "\"}"
        // Larger than a pipe's buffer: read meanwhile (on a thread of its own, as a client
        // process would), so that the write is cut and continued.
        let received = Locked<[UInt8]>([])
        let done = DispatchSemaphore(value: 0)
        Thread {
            var buffer = [UInt8](repeating: 0, count: 8_192)
            while true {
                let count = buffer.withUnsafeMutableBytes { read(output.read, $0.baseAddress, $0.count) }
                if count <= 0 { break }
                received.withLock { $0 += buffer[..<count] }
            }
            done.signal()
        }.start()
        try await transport.send(Data(answer.utf8))
        try await transport.send(Data("{}".utf8))
        close(output.write)
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                done.wait()
                continuation.resume()
            }
        }
        #expect(received.withLock { $0 } == Array((answer + "\n{}\n").utf8))
        close(output.read)
    }

    @Test func disconnectEndsTheMessages() async throws {
        let (transport, reader, input) = try await Self.connected()
        Self.writeAll("{\"id\":1}\n", to: input.write)
        try await Task.sleep(for: .milliseconds(20))
        await transport.disconnect()
        #expect(try await reader.value == ["{\"id\":1}"])
        // The read end stays open: the transport's thread may still be in its read, and the
        // descriptor's number must not go to another test's file meanwhile.
        close(input.write)
    }
}
