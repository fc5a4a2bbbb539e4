import AgentMemory
import AgentMemoryServer
import Foundation
import Logging
import Testing

/// Runs an ``AgentMemoryServer`` in this process on 127.0.0.1 (a free port) for the length of
/// `body`, then stops it and waits until it has closed its store.
func withLiveServer<T: Sendable>(
    store: any MemoryStore = InMemoryMemoryStore(),
    configure: (inout ServerConfiguration) -> Void = { _ in },
    _ body: (HTTPTestClient) async throws -> T
) async throws -> T {
    var configuration = ServerConfiguration(host: "127.0.0.1", port: 0)
    configure(&configuration)
    let quiet = Logger(label: "test.server", factory: { _ in SwiftLogNoOpLogHandler() })
    let server = try AgentMemoryServer(store: store, configuration: configuration, logger: quiet)
    let (ports, continuation) = AsyncStream<Int>.makeStream()
    let task = Task {
        try await server.run(handlingSignals: false) { _, port in continuation.yield(port) }
    }
    var iterator = ports.makeAsyncIterator()
    guard let port = await iterator.next() else { throw TestSocketError(description: "the server did not start") }
    do {
        let result = try await body(HTTPTestClient(port: port))
        task.cancel()
        _ = await task.result
        return result
    } catch {
        task.cancel()
        _ = await task.result
        throw error
    }
}

/// A tokens file's worth of tokens for the auth tests.
func testTokens() throws -> TokenFile {
    try TokenFile(parsing: Data("""
        {"tokens": [
          {"token": "writer-secret", "namespaces": ["team", "agent-*"], "access": "read-write", "agent": "planner"},
          {"token": "reader-secret", "namespaces": ["team"], "access": "read-only", "agent": "auditor"},
          {"token": "other-secret", "namespaces": ["other"], "access": "read-write"}
        ]}
        """.utf8))
}
