import AgentMemory
import AgentMemoryMCP
import Foundation
import MCP
import Testing

/// The Streamable HTTP entry point driven with the SDK's `HTTPRequest` values, as a host HTTP
/// server would drive it (no network: the endpoint is framework-agnostic).
@Suite("MCP over Streamable HTTP (framework-agnostic endpoint)")
struct MCPHTTPEndpointTests {
    static let headers = ["Accept": "application/json, text/event-stream", "Content-Type": "application/json"]

    static func post(_ body: String, session: String? = nil) -> HTTPRequest {
        HTTPRequest(method: "POST", headers: sessionHeaders(session), body: Data(body.utf8), path: "/mcp")
    }

    static func sessionHeaders(_ session: String?) -> [String: String] {
        var headers = Self.headers
        if let session {
            headers["MCP-Session-Id"] = session
            headers["MCP-Protocol-Version"] = Version.latest
        }
        return headers
    }

    static let initialize = """
        {"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},\
        "clientInfo":{"name":"http-test","version":"1"}}}
        """

    /// The JSON-RPC message of a JSON answer.
    static func message(_ response: HTTPResponse) throws -> JSONValue? {
        guard case .data(let body, let headers) = response else {
            Issue.record("not a JSON answer: \(response.statusCode)")
            return nil
        }
        #expect(headers["Content-Type"] == "application/json")
        return try JSONValue(parsing: body)
    }

    static func server(_ store: InMemoryMemoryStore, agent: String = "http") -> @Sendable () async throws -> MemoryMCPServer {
        { try MemoryMCPServer(store: store, namespace: MCPHarness.namespace, agent: agent, tools: [.remember, .recall]) }
    }

    /// Opens a session; returns its id.
    static func open(_ endpoint: MemoryMCPHTTPEndpoint, store: InMemoryMemoryStore, owner: String = "") async throws -> String {
        let opened = await endpoint.handle(post(initialize), owner: owner, makeServer: server(store))
        #expect(opened.statusCode == 200)
        return try #require(opened.headers["MCP-Session-Id"])
    }

    @Test("initialize opens a session answered in JSON; tools are called in it; DELETE closes it")
    func session() async throws {
        let store = InMemoryMemoryStore()
        let endpoint = MemoryMCPHTTPEndpoint()
        let opened = await endpoint.handle(Self.post(Self.initialize), makeServer: Self.server(store))
        #expect(opened.statusCode == 200)
        let session = try #require(opened.headers["MCP-Session-Id"])
        #expect(try Self.message(opened)?.objectValue?["result"]?.objectValue?["protocolVersion"] == "2025-06-18")
        #expect(await endpoint.sessionCount == 1)

        let notified = await endpoint.handle(
            Self.post(#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#, session: session), makeServer: Self.server(store))
        #expect(notified.statusCode == 202)
        let called = await endpoint.handle(
            Self.post(
                #"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"remember","arguments":{"key":"a/b c","value":"v"}}}"#,
                session: session),
            makeServer: Self.server(store))
        #expect(called.headers["MCP-Session-Id"] == session)
        let result = try Self.message(called)?.objectValue?["result"]
        #expect(result?.objectValue?["content"] == [["type": "text", "text": "Remembered \"a/b c\" (version 1)."]])
        #expect(try await store.get("a/b c", in: MCPHarness.namespace)?.author == "http")

        let delete = HTTPRequest(method: "DELETE", headers: Self.sessionHeaders(session), path: "/mcp")
        #expect(await endpoint.handle(delete, makeServer: Self.server(store)).statusCode == 200)
        #expect(await endpoint.sessionCount == 0)
        let after = await endpoint.handle(Self.post(#"{"jsonrpc":"2.0","id":3,"method":"tools/list"}"#, session: session), makeServer: Self.server(store))
        #expect(after.statusCode == 404)
    }

    @Test("initialize answers each protocol version swift-sdk 0.12.1 supports with that version, and an unknown one with the latest",
          arguments: Version.supported.sorted() + ["2026-07-28", "1999-01-01"])
    func versionNegotiation(requested: String) async throws {
        let endpoint = MemoryMCPHTTPEndpoint()
        let body = Self.initialize.replacingOccurrences(of: "2025-06-18", with: requested)
        let opened = await endpoint.handle(Self.post(body), makeServer: Self.server(InMemoryMemoryStore()))
        let result = try Self.message(opened)?.objectValue?["result"]
        let expected = Version.supported.contains(requested) ? requested : Version.latest
        #expect(result?.objectValue?["protocolVersion"] == .string(expected))
        #expect(["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"] == Version.supported.sorted())
        await endpoint.close()
        #expect(await endpoint.sessionCount == 0)
    }

    @Test("a request without a session that is not initialize is 400; a refused session is 403")
    func refusals() async throws {
        let endpoint = MemoryMCPHTTPEndpoint()
        let store = InMemoryMemoryStore()
        #expect(await endpoint.handle(Self.post(#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#), makeServer: Self.server(store)).statusCode == 400)
        #expect(await endpoint.handle(HTTPRequest(method: "GET", headers: Self.headers, path: "/mcp"), makeServer: Self.server(store)).statusCode == 400)
        let refused = await endpoint.handle(Self.post(Self.initialize)) { throw MemoryMCPError("token does not allow namespace team") }
        #expect(refused.statusCode == 403)
        #expect(await endpoint.sessionCount == 0)
    }

    @Test("a session answers only the owner that opened it")
    func owners() async throws {
        let store = InMemoryMemoryStore()
        let endpoint = MemoryMCPHTTPEndpoint()
        let session = try await Self.open(endpoint, store: store, owner: "token:0 team")
        let list = #"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#
        let stranger = await endpoint.handle(Self.post(list, session: session), owner: "token:1 team", makeServer: Self.server(store))
        #expect(stranger.statusCode == 404)
        let otherNamespace = await endpoint.handle(Self.post(list, session: session), owner: "token:0 other", makeServer: Self.server(store))
        #expect(otherNamespace.statusCode == 404)
        let owner = await endpoint.handle(Self.post(list, session: session), owner: "token:0 team", makeServer: Self.server(store))
        #expect(owner.statusCode == 200)
        await endpoint.close()
    }

    @Test("at most maximumSessions are open; an initialize beyond them gets 503 with Retry-After")
    func sessionCap() async throws {
        let store = InMemoryMemoryStore()
        let endpoint = MemoryMCPHTTPEndpoint(maximumSessions: 2)
        _ = try await Self.open(endpoint, store: store)
        let second = try await Self.open(endpoint, store: store)
        let third = await endpoint.handle(Self.post(Self.initialize), makeServer: Self.server(store))
        #expect(third.statusCode == 503)
        #expect(third.headers["Retry-After"] != nil)
        #expect(await endpoint.sessionCount == 2)
        let delete = HTTPRequest(method: "DELETE", headers: Self.sessionHeaders(second), path: "/mcp")
        #expect(await endpoint.handle(delete, makeServer: Self.server(store)).statusCode == 200)
        _ = try await Self.open(endpoint, store: store)
        #expect(await endpoint.sessionCount == 2)
        await endpoint.close()
    }

    @Test("a session ends once its answers reach maximumSessionBytes (the SDK keeps them until then)")
    func sessionByteBudget() async throws {
        let store = InMemoryMemoryStore()
        let endpoint = MemoryMCPHTTPEndpoint(maximumSessionBytes: 2_000)
        let session = try await Self.open(endpoint, store: store)
        let call = #"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"remember","arguments":{"key":"k","value":"v"}}}"#
        var answered = 0
        while await endpoint.sessionCount == 1, answered < 100 {
            let response = await endpoint.handle(Self.post(call, session: session), makeServer: Self.server(store))
            #expect(response.statusCode == 200)
            answered += 1
        }
        #expect(await endpoint.sessionCount == 0)
        #expect(answered > 1 && answered < 100, "\(answered) answers")
        #expect(await endpoint.handle(Self.post(call, session: session), makeServer: Self.server(store)).statusCode == 404)
    }

    @Test("a session idle for idleTimeout ends; one with an open event stream stays until the stream ends")
    func idleSessionsExpire() async throws {
        let clock = ManualClock()
        let store = InMemoryMemoryStore()
        let endpoint = MemoryMCPHTTPEndpoint(idleTimeout: .seconds(60), now: { clock.now })
        let idle = try await Self.open(endpoint, store: store)
        let listening = try await Self.open(endpoint, store: store)
        let get = HTTPRequest(method: "GET", headers: Self.sessionHeaders(listening).merging(["Accept": "text/event-stream"]) { $1 }, path: "/mcp")
        let stream = await endpoint.handle(get, makeServer: Self.server(store))
        guard case .stream(let events, _) = stream else {
            Issue.record("GET did not open an event stream: \(stream.statusCode)")
            return
        }
        let reader = Task { for try await _ in events {} }

        clock.advance(by: .seconds(59))
        let list = #"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#
        #expect(await endpoint.handle(Self.post(list, session: idle), makeServer: Self.server(store)).statusCode == 200)
        clock.advance(by: .seconds(60))
        // A third session's request sweeps: `idle` has had no request for 60 s; `listening` has a stream open.
        _ = try await Self.open(endpoint, store: store)
        #expect(await endpoint.sessionCount == 2)
        #expect(await endpoint.handle(Self.post(list, session: idle), makeServer: Self.server(store)).statusCode == 404)
        #expect(await endpoint.handle(Self.post(list, session: listening), makeServer: Self.server(store)).statusCode == 200)

        reader.cancel()
        _ = await reader.result
        // The stream's end is recorded by the endpoint asynchronously; the session expires
        // once it is, and 60 s have passed since.
        var remaining = await endpoint.sessionCount
        for _ in 0..<100_000 where remaining > 0 {
            clock.advance(by: .seconds(61))
            _ = await endpoint.handle(Self.post(list), makeServer: Self.server(store))
            remaining = await endpoint.sessionCount
            await Task.yield()
        }
        #expect(remaining == 0)
        #expect(await endpoint.handle(Self.post(list, session: listening), makeServer: Self.server(store)).statusCode == 404)
    }
}

/// A clock the test moves by hand.
final class ManualClock: @unchecked Sendable {
    private let start = ContinuousClock.now
    private let lock = NSLock()
    private var offset = Duration.zero

    var now: ContinuousClock.Instant { lock.withLock { start + offset } }

    func advance(by duration: Duration) { lock.withLock { offset += duration } }
}
