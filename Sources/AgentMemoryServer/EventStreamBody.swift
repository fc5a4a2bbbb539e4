import Hummingbird
import NIOCore
import ServiceLifecycle

/// The body of a long-lived `text/event-stream` response (the change feed's watchers, an MCP
/// session's notifications).
///
/// Events come from `produce`, which runs in a task of its own; between them, a comment line
/// (`: ping`) goes out every `pingInterval`, so that writing to a client that went away fails
/// and the stream ends (without it, a silent stream would hold its task and its store watch
/// until the next event). The stream also ends when `produce` returns or throws, or when the
/// server shuts down gracefully.
enum EventStreamBody {
    /// The comment line sent every ping interval (SSE clients ignore lines starting with `:`).
    static let ping = ": ping\n\n"

    /// A body that writes `opening` (if any), then what `produce` yields; when `produce`
    /// throws, `failure` may give a last event to write.
    static func make(
        opening: String? = nil,
        pingInterval: Duration?,
        failure: @escaping @Sendable (any Error) -> String? = { _ in nil },
        produce: @escaping @Sendable (AsyncThrowingStream<ByteBuffer, any Error>.Continuation) async throws -> Void
    ) -> ResponseBody {
        ResponseBody { writer in
            let (relay, continuation) = AsyncThrowingStream<ByteBuffer, any Error>.makeStream()
            let producer = Task {
                do {
                    try await produce(continuation)
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            let pinger = pingInterval.map { interval in
                Task {
                    while true {
                        do {
                            try await Task.sleep(for: interval)
                        } catch {
                            return
                        }
                        continuation.yield(ByteBuffer(string: ping))
                    }
                }
            }
            continuation.onTermination = { _ in
                producer.cancel()
                pinger?.cancel()
            }
            do {
                if let opening { try await writer.write(ByteBuffer(string: opening)) }
                try await withGracefulShutdownHandler {
                    for try await chunk in relay { try await writer.write(chunk) }
                } onGracefulShutdown: {
                    continuation.finish()
                }
            } catch {
                continuation.finish()
                if let last = failure(error) { try? await writer.write(ByteBuffer(string: last)) }
            }
            try await writer.finish(nil)
        }
    }
}
