import Foundation
import Logging
import MCP

/// An MCP transport to a child process's stdin and stdout, newline-delimited JSON as the stdio
/// transport specifies: what the SDK's `StdioTransport` does, over `Pipe`s (the test target
/// cannot name swift-system's `FileDescriptor` without another package dependency).
actor ProcessTransport: Transport {
    nonisolated let logger = Logger(label: "test.process-transport", factory: { _ in SwiftLogNoOpLogHandler() })
    private let input: FileHandle
    private let output: FileHandle
    private let messages: AsyncThrowingStream<Data, any Error>
    private let continuation: AsyncThrowingStream<Data, any Error>.Continuation
    private let buffer = LineBuffer()

    /// Every line the process wrote to stdout so far.
    var linesReceived: [Data] { buffer.lines }

    /// A transport writing to `input` (the child's stdin) and reading `output` (its stdout).
    init(input: FileHandle, output: FileHandle) {
        self.input = input
        self.output = output
        (messages, continuation) = AsyncThrowingStream.makeStream(of: Data.self)
    }

    func connect() async throws {
        let continuation = continuation
        let buffer = buffer
        output.readabilityHandler = { handle in
            let chunk = handle.availableData
            if chunk.isEmpty {
                handle.readabilityHandler = nil
                continuation.finish()
                return
            }
            for line in buffer.append(chunk) { continuation.yield(line) }
        }
    }

    func disconnect() async {
        output.readabilityHandler = nil
        try? input.close()
        continuation.finish()
    }

    func send(_ data: Data) async throws {
        try input.write(contentsOf: data + Data("\n".utf8))
    }

    func receive() -> AsyncThrowingStream<Data, any Error> { messages }

    /// Splits bytes into lines (called on the file handle's queue, one chunk at a time).
    private final class LineBuffer: @unchecked Sendable {
        private var pending = Data()
        private var received: [Data] = []
        private let lock = NSLock()

        var lines: [Data] { lock.withLock { received } }

        func append(_ chunk: Data) -> [Data] {
            lock.withLock {
                pending += chunk
                var lines: [Data] = []
                while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                    let line = pending[pending.startIndex..<newline]
                    if !line.isEmpty { lines.append(Data(line)) }
                    received.append(Data(line))
                    pending = Data(pending[pending.index(after: newline)...])
                }
                return lines
            }
        }
    }
}
