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
        var headers = Self.headers
        if let session {
            headers["MCP-Session-Id"] = session
            headers["MCP-Protocol-Version"] = Version.latest
        }
        return HTTPRequest(method: "POST", headers: headers, body: Data(body.utf8), path: "/mcp")
    }

    static let initialize = """
        {"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},\
        "clientInfo":{"name":"http-test","version":"1"}}}
        """

    /// The JSON-RPC messages of an SSE response body.
    static func messages(_ response: HTTPResponse) async throws -> [JSONValue] {
        guard case .stream(let stream, _) = response else {
            Issue.record("not a stream: \(response.statusCode)")
            return []
        }
        var bytes = Data()
        for try await chunk in stream { bytes += chunk }
        return try String(decoding: bytes, as: UTF8.self).split(separator: "\n")
            .filter { $0.hasPrefix("data: ") && $0.count > 6 }
            .map { try JSONValue(parsing: String($0.dropFirst(6))) }
    }

    static func endpoint(store: InMemoryMemoryStore) -> MemoryMCPHTTPEndpoint {
        MemoryMCPHTTPEndpoint { _ in
            try MemoryMCPServer(store: store, namespace: MCPHarness.namespace, agent: "http", tools: [.remember, .recall])
        }
    }

    @Test("initialize opens a session; tools are called in it; DELETE closes it")
    func session() async throws {
        let store = InMemoryMemoryStore()
        let endpoint = Self.endpoint(store: store)
        let opened = await endpoint.handle(Self.post(Self.initialize))
        #expect(opened.statusCode == 200)
        let session = try #require(opened.headers["MCP-Session-Id"])
        let initialized = try await Self.messages(opened)
        #expect(initialized.last?.objectValue?["result"]?.objectValue?["protocolVersion"] == "2025-06-18")
        #expect(await endpoint.sessionCount == 1)

        let notified = await endpoint.handle(Self.post(#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#, session: session))
        #expect(notified.statusCode == 202)
        let called = await endpoint.handle(Self.post(
            #"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"remember","arguments":{"key":"a/b c","value":"v"}}}"#,
            session: session))
        let result = try await Self.messages(called).last?.objectValue?["result"]
        #expect(result?.objectValue?["content"] == [["type": "text", "text": "Remembered \"a/b c\" (version 1)."]])
        #expect(try await store.get("a/b c", in: MCPHarness.namespace)?.author == "http")

        var delete = Self.post("", session: session)
        delete = HTTPRequest(method: "DELETE", headers: delete.headers, body: nil, path: "/mcp")
        #expect(await endpoint.handle(delete).statusCode == 200)
        #expect(await endpoint.sessionCount == 0)
        #expect(await endpoint.handle(Self.post(#"{"jsonrpc":"2.0","id":3,"method":"tools/list"}"#, session: session)).statusCode == 404)
    }

    @Test("initialize answers each protocol version swift-sdk 0.12.1 supports with that version, and an unknown one with the latest",
          arguments: Version.supported.sorted() + ["2026-07-28", "1999-01-01"])
    func versionNegotiation(requested: String) async throws {
        let endpoint = Self.endpoint(store: InMemoryMemoryStore())
        let body = Self.initialize.replacingOccurrences(of: "2025-06-18", with: requested)
        let opened = await endpoint.handle(Self.post(body))
        let result = try await Self.messages(opened).last?.objectValue?["result"]
        let expected = Version.supported.contains(requested) ? requested : Version.latest
        #expect(result?.objectValue?["protocolVersion"] == .string(expected))
        #expect(["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"] == Version.supported.sorted())
        await endpoint.close()
        #expect(await endpoint.sessionCount == 0)
    }

    @Test("a request without a session that is not initialize is 400; a refused session is 403")
    func refusals() async throws {
        let endpoint = Self.endpoint(store: InMemoryMemoryStore())
        #expect(await endpoint.handle(Self.post(#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#)).statusCode == 400)
        #expect(await endpoint.handle(HTTPRequest(method: "GET", headers: Self.headers, path: "/mcp")).statusCode == 400)
        let refusing = MemoryMCPHTTPEndpoint { _ in throw MemoryMCPError("token does not allow namespace team") }
        let refused = await refusing.handle(Self.post(Self.initialize))
        #expect(refused.statusCode == 403)
        #expect(await refusing.sessionCount == 0)
    }
}
