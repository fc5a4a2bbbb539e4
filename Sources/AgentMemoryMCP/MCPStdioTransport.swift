import AgentMemoryCore
import Foundation
import Logging
import MCP
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// MCP's stdio transport (newline-delimited JSON-RPC on stdin and stdout) that answers as soon
/// as a request arrives.
///
/// swift-sdk 0.12.1's `StdioTransport` sets stdin non-blocking and, whenever a read finds
/// nothing there, sleeps 10 ms before it looks again. A client that waits for each answer
/// before it sends the next request (every MCP host calling one tool at a time) found the
/// server asleep nearly every time: 10.3 ms at the median for a `remember` or `recall` call
/// over stdio, most of it that sleep (BENCHMARKS.md, round forty-six). Here a thread of the
/// transport's own blocks in `read(2)` on stdin and hands each line on as it arrives; stdin and
/// stdout keep the modes the process was given (a descriptor shared with stdout, such as a
/// terminal, is not made non-blocking under it).
///
/// The stream of messages ends at the end of stdin (a last line without a newline is still a
/// message) or at ``disconnect()``; a read error ends it with that error.
public actor MCPStdioTransport: Transport {
    /// Where the transport logs.
    public nonisolated let logger: Logger
    private let input: Int32
    private let output: Int32
    private let messages: AsyncThrowingStream<Data, any Error>
    private let continuation: AsyncThrowingStream<Data, any Error>.Continuation
    private var reading = false

    /// A transport on the descriptors `input` (stdin by default) and `output` (stdout).
    public init(input: Int32 = STDIN_FILENO, output: Int32 = STDOUT_FILENO, logger: Logger? = nil) {
        self.input = input
        self.output = output
        self.logger = logger ?? Logger(label: "agent-memory.mcp.stdio", factory: { _ in SwiftLogNoOpLogHandler() })
        (messages, continuation) = AsyncThrowingStream.makeStream(of: Data.self)
    }

    /// Starts the thread that reads `input` (once; later calls do nothing).
    public func connect() async throws {
        guard !reading else { return }
        reading = true
        let (input, continuation, logger) = (self.input, self.continuation, self.logger)
        let thread = Thread {
            Self.readLines(from: input, into: continuation, logger: logger)
        }
        thread.name = "agent-memory.mcp.stdin"
        thread.start()
    }

    /// Ends the stream of messages. The reading thread, if it is waiting for input, stops at
    /// the next line or at the end of stdin; it hands on nothing more.
    public func disconnect() async {
        continuation.finish()
    }

    /// Writes `data` and a newline to `output`, all of it (a write cut short is continued), on
    /// the transport's writing queue: a client that reads slowly holds that queue, never a
    /// thread of Swift's cooperative pool.
    public func send(_ data: Data) async throws {
        var message = data
        message.append(0x0A)
        let (line, output) = (message, self.output)
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            writing.async {
                let failure = line.withUnsafeBytes { writeAll($0, to: output) }
                continuation.resume(with: Result {
                    if let failure { throw MCPError.transportError(POSIXError(POSIXErrorCode(rawValue: failure) ?? .EIO)) }
                })
            }
        }
    }

    /// The queue ``send(_:)`` writes on, one message after another.
    private let writing = DispatchQueue(label: "agent-memory.mcp.stdout")

    /// The messages read from `input`, one per line.
    public func receive() -> AsyncThrowingStream<Data, any Error> {
        messages
    }

    /// Reads `input` until its end, yielding each non-empty line (without its newline).
    private static func readLines(
        from input: Int32, into continuation: AsyncThrowingStream<Data, any Error>.Continuation, logger: Logger
    ) {
        var pending: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) }
            if count == 0 { break }
            if count < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN || errno == EWOULDBLOCK {
                    // Non-blocking stdin (set by whoever started the process): wait for input.
                    var descriptor = pollfd(fd: input, events: Int16(POLLIN), revents: 0)
                    _ = poll(&descriptor, 1, -1)
                    continue
                }
                let error = POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
                logger.error("cannot read stdin", metadata: ["error": "\(error)"])
                continuation.finish(throwing: MCPError.transportError(error))
                return
            }
            var start = 0
            for index in 0..<count where buffer[index] == 0x0A {
                pending.append(contentsOf: buffer[start..<index])
                if !pending.isEmpty { continuation.yield(Data(pending)) }
                pending.removeAll(keepingCapacity: true)
                start = index + 1
            }
            pending.append(contentsOf: buffer[start..<count])
        }
        if !pending.isEmpty { continuation.yield(Data(pending)) }
        logger.debug("end of stdin")
        continuation.finish()
    }
}
