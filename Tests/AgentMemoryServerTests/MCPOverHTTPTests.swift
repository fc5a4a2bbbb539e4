import AgentMemory
import AgentMemoryServer
import Foundation
import MCP
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import TestScratch

/// MCP over Streamable HTTP at `/mcp` on the live server (127.0.0.1, a free port), driven by
/// swift-sdk 0.12.1's own `HTTPClientTransport` and by raw requests: every tool, resources,
/// bearer tokens, authors, namespaces, sessions.
@Suite struct MCPOverHTTPTests {
    static let allTools: [MemoryToolKind] = [.remember, .recall, .listMemory, .forget, .searchMemory]

    /// Tokens, all five tools, and `team` as the namespace served when a request names none.
    static func configure(_ configuration: inout ServerConfiguration) {
        configuration.tokens = try? testTokens()
        configuration.mcpTools = allTools
        configuration.mcpNamespace = try! Namespace("team")
    }

    /// A connected SDK client for `/mcp` (with `?namespace=` when given), sending `token`.
    static func connect(port: Int, namespace: String? = nil, token: String?) async throws -> (Client, Initialize.Result) {
        let url = URL(string: "http://127.0.0.1:\(port)/mcp" + (namespace.map { "?namespace=\($0)" } ?? ""))!
        let transport = HTTPClientTransport(endpoint: url, streaming: false, requestModifier: { request in
            var request = request
            if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
            return request
        })
        let client = Client(name: "mcp-http-test", version: "1.0")
        let initialized = try await client.connect(transport: transport)
        return (client, initialized)
    }

    /// A tool call's text and whether it is an error.
    static func call(_ client: Client, _ name: String, _ arguments: [String: Value] = [:]) async throws -> (text: String, isError: Bool) {
        let result = try await client.callTool(name: name, arguments: arguments)
        guard result.content.count == 1, case .text(let text, _, _) = result.content[0] else {
            Issue.record("not one text block: \(result.content)")
            return ("", true)
        }
        return (text, result.isError ?? false)
    }

    @Test func sdkClientCallsEveryToolAndReadsResources() async throws {
        let store = InMemoryMemoryStore()
        try await withLiveServer(store: store, configure: Self.configure) { (http: HTTPTestClient) async throws in
            let (client, initialized) = try await Self.connect(port: http.port, token: "writer-secret")
            #expect(initialized.serverInfo.name == "agent-memory")
            #expect(Version.supported.contains(initialized.protocolVersion))
            let tools = try await client.listTools().tools
            #expect(tools.map(\.name) == ["remember", "recall", "list_memory", "forget", "search_memory"])

            for key in ["notes/2026 plan", "100% sure", "café"] {
                #expect(try await Self.call(client, "remember", ["key": .string(key), "value": .string("value of \(key)")])
                    == ("Remembered \"\(key)\" (version 1).", false))
            }
            #expect(try await Self.call(client, "recall", ["key": "café"]) == ("value of café", false))
            let listed = try await Self.call(client, "list_memory")
            #expect(!listed.isError && listed.text.components(separatedBy: "\n").count == 3, "\(listed.text)")
            let found = try await Self.call(client, "search_memory", ["query": "sure"])
            #expect(!found.isError && found.text.hasPrefix("100% sure: "), "\(found.text)")
            #expect(try await Self.call(client, "remember", ["key": "no value"]).isError)

            let resources = try await client.listResources().resources
            #expect(resources.map(\.name).sorted() == ["100% sure", "café", "notes/2026 plan"].sorted())
            for resource in resources {
                let contents = try await client.readResource(uri: resource.uri)
                #expect(contents.first?.text == "value of \(resource.name)", "\(resource.uri)")
            }
            #expect(try await Self.call(client, "forget", ["key": "café"]) == ("Forgot \"café\".", false))
            #expect(try await store.get("café", in: Namespace("team")) == nil)
            // The token's agent is the author; `team` is the server's namespace when none is named.
            #expect(try await store.get("100% sure", in: Namespace("team"))?.author == "planner")
            await client.disconnect()
        }
    }

    @Test func tokensGateMCP() async throws {
        let store = InMemoryMemoryStore()
        try await withLiveServer(store: store, configure: Self.configure) { (anonymous: HTTPTestClient) async throws in
            let missing = try await MCPRequests.initialize(anonymous, "/mcp")
            #expect(missing.status == 401)
            #expect(missing.json == ["detail": "Missing bearer token: send Authorization: Bearer TOKEN"])
            let wrong = try await MCPRequests.initialize(HTTPTestClient(port: anonymous.port, token: "nope"), "/mcp?namespace=team")
            #expect(wrong.status == 401)
            #expect(wrong.json == ["detail": "Invalid bearer token"])
            let writer = HTTPTestClient(port: anonymous.port, token: "writer-secret")
            let elsewhere = try await MCPRequests.initialize(writer, "/mcp?namespace=other")
            #expect(elsewhere.status == 403)
            #expect(elsewhere.json == ["detail": "This token may not use namespace other"])
            #expect(try await MCPRequests.initialize(writer, "/mcp?namespace=bad%20name").status == 400)

            // A session answers only the token and namespace that opened it.
            let opened = try await MCPRequests.initialize(writer, "/mcp?namespace=team")
            #expect(opened.status == 200)
            let session = try #require(opened.headers["mcp-session-id"])
            let reader = HTTPTestClient(port: anonymous.port, token: "reader-secret")
            #expect(try await MCPRequests.post(reader, "/mcp?namespace=team", MCPRequests.listTools, session: session).status == 404)
            #expect(try await MCPRequests.post(writer, "/mcp?namespace=agent-1", MCPRequests.listTools, session: session).status == 404)
            let listed = try await MCPRequests.post(writer, "/mcp?namespace=team", MCPRequests.listTools, session: session)
            #expect(listed.status == 200)
            #expect(listed.headers["content-type"] == "application/json")
            #expect(try await MCPRequests.post(anonymous, "/mcp?namespace=team", MCPRequests.listTools, session: session).status == 401)
            #expect(try await anonymous.send("PUT", "/mcp").status == 405)
        }
    }

    @Test func readOnlyTokensGetReadToolsOnlyAndCannotWrite() async throws {
        let store = InMemoryMemoryStore()
        _ = try await store.put("plan", value: "ship it", in: Namespace("team"))
        try await withLiveServer(store: store, configure: Self.configure) { (http: HTTPTestClient) async throws in
            let (client, _) = try await Self.connect(port: http.port, namespace: "team", token: "reader-secret")
            #expect(try await client.listTools().tools.map(\.name) == ["recall", "list_memory", "search_memory"])
            #expect(try await Self.call(client, "recall", ["key": "plan"]) == ("ship it", false))
            let refused = try await Self.call(client, "remember", ["key": "plan", "value": "changed"])
            #expect(refused.isError, "\(refused.text)")
            let forget = try await Self.call(client, "forget", ["key": "plan"])
            #expect(forget.isError, "\(forget.text)")
            let record = try await store.get("plan", in: Namespace("team"))
            #expect(record?.value == "ship it")
            #expect(record?.version == 1)
            await client.disconnect()
        }
    }

    @Test func namespacesAreIsolated() async throws {
        let store = InMemoryMemoryStore()
        try await withLiveServer(store: store, configure: Self.configure) { (http: HTTPTestClient) async throws in
            let (team, _) = try await Self.connect(port: http.port, namespace: "team", token: "writer-secret")
            let (mine, _) = try await Self.connect(port: http.port, namespace: "agent-7", token: "writer-secret")
            #expect(try await Self.call(team, "remember", ["key": "k", "value": "team value"]).isError == false)
            #expect(try await Self.call(mine, "recall", ["key": "k"])
                == ("No memory is stored under \"k\". The memory is empty: nothing has been remembered yet.", false))
            #expect(try await Self.call(mine, "remember", ["key": "mine", "value": "agent value"]).isError == false)
            #expect(try await Self.call(team, "recall", ["key": "k"]) == ("team value", false))
            #expect(try await Self.call(team, "recall", ["key": "mine"]).text.hasPrefix("No memory is stored under \"mine\""))
            #expect(try await team.listResources().resources.map(\.name) == ["k"])
            #expect(try await mine.listResources().resources.map(\.name) == ["mine"])
            // A resource URI of the other namespace is refused, not read.
            await #expect(throws: (any Error).self) { _ = try await mine.readResource(uri: "memory://team/k") }
            #expect(try await store.get("k", in: Namespace("agent-7")) == nil)
            #expect(try await store.get("mine", in: Namespace("agent-7"))?.author == "planner")
            await team.disconnect()
            await mine.disconnect()
        }
    }

    @Test func deleteEndsTheSessionAndOpenStreamsGetPings() async throws {
        try await withLiveServer(configure: { configuration in
            Self.configure(&configuration)
            configuration.eventStreamPingInterval = .milliseconds(20)
        }) { (anonymous: HTTPTestClient) async throws in
            let writer = HTTPTestClient(port: anonymous.port, token: "writer-secret")
            let opened = try await MCPRequests.initialize(writer, "/mcp")
            let session = try #require(opened.headers["mcp-session-id"])
            #expect(try await MCPRequests.post(writer, "/mcp", MCPRequests.initialized, session: session).status == 202)
            // The session's notification stream (GET) stays open, with keep-alive comments.
            let stream = try await writer.readStream(
                "/mcp", headers: MCPRequests.headers(session: session, accept: "text/event-stream"), until: ": ping", count: 2)
            #expect(stream.hasPrefix("HTTP/1.1 200"), "\(stream)")
            #expect(stream.lowercased().contains("content-type: text/event-stream"), "\(stream)")

            let deleted = try await writer.send("DELETE", "/mcp", headers: MCPRequests.headers(session: session))
            #expect(deleted.status == 200)
            #expect(try await MCPRequests.post(writer, "/mcp", MCPRequests.listTools, session: session).status == 404)
        }
    }

    @Test func mcpAndEventStreamSettingsAreChecked() throws {
        let refused: [(inout ServerConfiguration) -> Void] = [
            { $0.mcpTools = [] }, { $0.mcpTools = [.recall, .memory] }, { $0.mcpMaxSessions = 0 },
            { $0.mcpIdleTimeout = .zero }, { $0.eventStreamPingInterval = .zero },
        ]
        for (index, change) in refused.enumerated() {
            var configuration = ServerConfiguration(host: "127.0.0.1", port: 0)
            change(&configuration)
            #expect(throws: ServerError.self, "change \(index)") { try configuration.validate() }
        }
        var quiet = ServerConfiguration(host: "127.0.0.1", port: 0)
        quiet.eventStreamPingInterval = nil
        #expect(throws: Never.self) { try quiet.validate() }
    }

    @Test func openServersRefuseForeignOrigins() async throws {
        let store = InMemoryMemoryStore()
        try await withLiveServer(store: store, configure: { $0.openAgent = "local" }) { (client: HTTPTestClient) async throws in
            let foreign = try await client.send(
                "POST", "/mcp", headers: MCPRequests.headers(session: nil) + [("Origin", "http://attacker.example")],
                body: Array(MCPRequests.initializeBody.utf8))
            #expect(foreign.status == 403)
            let local = try await client.send(
                "POST", "/mcp", headers: MCPRequests.headers(session: nil) + [("Origin", "http://127.0.0.1:\(client.port)")],
                body: Array(MCPRequests.initializeBody.utf8))
            #expect(local.status == 200)
            let session = try #require(local.headers["mcp-session-id"])
            let call = #"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"remember","arguments":{"key":"k","value":"v"}}}"#
            #expect(try await MCPRequests.post(client, "/mcp", call, session: session).status == 200)
            // Open: the default namespace and the server's --agent.
            #expect(try await store.get("k", in: .default)?.author == "local")
        }
    }

    @Test func oversizedMCPBodiesAre413() async throws {
        try await withLiveServer(configure: { configuration in
            Self.configure(&configuration)
            configuration.maxBodyBytes = 1_000
        }) { (anonymous: HTTPTestClient) async throws in
            let writer = HTTPTestClient(port: anonymous.port, token: "writer-secret")
            let opened = try await MCPRequests.initialize(writer, "/mcp")
            let session = try #require(opened.headers["mcp-session-id"])
            let call = #"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"remember","arguments":{"key":"big","value":""#
                + String(repeating: "x", count: 2_000) + #""}}}"#
            let refused = try await MCPRequests.post(writer, "/mcp", call, session: session)
            #expect(refused.status == 413)
            #expect(refused.json == ["detail": "Request body is larger than the limit of 1000 bytes"])
        }
    }

    @Test func changeStreamsGetPings() async throws {
        try await withLiveServer(configure: { $0.eventStreamPingInterval = .milliseconds(20) }) { (client: HTTPTestClient) async throws in
            let text = try await client.readStream("/changes/team?stream=true", until: ": ping\n\n", count: 2)
            #expect(text.contains(": watching team\n\n"))
        }
    }

    @Test(.enabled(if: PythonMCPClient.available, "skipped: the Python MCP client is not installed (pip install mcp)"))
    func pythonClientOverHTTP() async throws {
        try await withLiveServer(configure: Self.configure) { (http: HTTPTestClient) async throws in
            let (status, text) = try await PythonMCPClient.run(
                script: "scripts/mcp/check_http.py", arguments: ["http://127.0.0.1:\(http.port)/mcp?namespace=agent-py", "writer-secret"])
            #expect(status == 0, "\(text)")
            #expect(text.contains("agent-memory MCP over HTTP with the Python MCP client: OK"), "\(text)")
            #expect(text.contains("protocol 2025-11-25 with agent-memory"), "\(text)")
            #expect(text.contains("5 tools: remember, recall, list_memory, forget, search_memory"), "\(text)")
        }
    }
}

/// Raw MCP requests over the test client: what an MCP client sends, byte for byte.
enum MCPRequests {
    static let initializeBody = """
        {"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},\
        "clientInfo":{"name":"raw","version":"1"}}}
        """
    static let initialized = #"{"jsonrpc":"2.0","method":"notifications/initialized"}"#
    static let listTools = #"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#

    static func headers(session: String?, accept: String = "application/json, text/event-stream") -> [(String, String)] {
        var headers = [("Accept", accept)]
        if let session { headers += [("MCP-Session-Id", session), ("MCP-Protocol-Version", "2025-06-18")] }
        return headers
    }

    static func initialize(_ client: HTTPTestClient, _ target: String) async throws -> HTTPTestResponse {
        try await post(client, target, initializeBody, session: nil)
    }

    static func post(_ client: HTTPTestClient, _ target: String, _ body: String, session: String?) async throws -> HTTPTestResponse {
        try await client.send("POST", target, headers: headers(session: session), body: Array(body.utf8))
    }
}

/// The official Python MCP client (`pip install mcp`), run on a script of scripts/mcp/.
enum PythonMCPClient {
    /// Whether `python3 -c "import mcp"` succeeds.
    static let available: Bool = {
        let process = ChildProcess()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", "import mcp"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }()

    /// Runs `python3 SCRIPT ARGUMENTS`; returns its exit status and output (stdout and stderr).
    static func run(script: String, arguments: [String]) async throws -> (Int32, String) {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("mcp-py-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: output) }
        let process = ChildProcess()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", ServeProcess.packageRoot.appendingPathComponent(script).path] + arguments
        process.standardOutput = try FileHandle(forWritingTo: output)
        process.standardError = try FileHandle(forWritingTo: output)
        try process.run()
        while process.isRunning { try await Task.sleep(for: .milliseconds(20)) }
        return (process.terminationStatus, String(decoding: try Data(contentsOf: output), as: UTF8.self))
    }
}
