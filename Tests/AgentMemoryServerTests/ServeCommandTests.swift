import AgentMemory
import Foundation
import Testing
import TestScratch

/// `agent-memory serve` as a user runs it: over SQLite, refusing unsafe setups, stopping
/// cleanly on SIGTERM, and two processes sharing one PostgreSQL.
@Suite struct ServeCommandTests {
    static let postgresURL: String? = {
        guard let text = ProcessInfo.processInfo.environment["AGENT_MEMORY_TEST_POSTGRES_URL"], !text.isEmpty else { return nil }
        return text
    }()

    @Test func servesSQLiteAndKeepsWritesAcrossARestart() async throws {
        let path = Scratch.file("serve-store")
        let first = try ServeProcess(["serve", "--port", "0", "--store", "sqlite:\(path)", "--agent", "cli"])
        let client = try await first.client()
        #expect(try await client.put("/memory/team/kept", value: "across restarts").status == 200)
        #expect(try await first.stop(signal: SIGTERM) == 0)
        #expect(first.stderr.contains("store closed"))

        let second = try ServeProcess(["serve", "--port", "0", "--store", "sqlite:\(path)"])
        let again = try await second.client()
        let read = try await again.get("/memory/team/kept")
        #expect(read.json["value"] == "across restarts")
        #expect(read.json["author"] == "cli")
        #expect(try await second.stop(signal: SIGINT) == 0)
    }

    @Test func sigtermEndsOpenChangeStreamsAndClosesTheStore() async throws {
        let path = Scratch.file("serve-store")
        let serve = try ServeProcess(["serve", "--port", "0", "--store", "sqlite:\(path)"])
        let client = try await serve.client()
        #expect(try await client.put("/memory/team/one", value: "1").status == 200)
        // Reads until the server closes the connection.
        let watcher = Task { try await client.readStream("/changes/team?stream=true", until: "\u{0}never", count: 1) }
        // The stream's response has started once /metrics counts it.
        let started = #"agent_memory_http_requests_total{method="GET",route="/changes/{namespace}",status="200"} 1"#
        while !(try await client.get("/metrics").text.contains(started)) { try await Task.sleep(for: .milliseconds(20)) }
        #expect(try await serve.stop(signal: SIGTERM) == 0)
        let text = try await watcher.value
        #expect(text.contains(": watching team"))
        #expect(text.contains("event: change\ndata: {\"sequence\":1,\"key\":\"one\""))
        #expect(serve.stderr.contains("store closed"))
    }

    @Test func refusesToRunOpenOnANonLoopbackAddress() async throws {
        let serve = try ServeProcess(["serve", "--host", "0.0.0.0", "--port", "0", "--store", "memory:"])
        #expect(try await serve.exitStatus() == 2)
        #expect(serve.stderr.contains("refusing to serve on 0.0.0.0 without --tokens"))
    }

    @Test func refusesAMalformedTokensFileNamingTheEntry() async throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("tokens-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: file) }
        try Data(#"{"tokens": [{"token": "a", "namespaces": ["x"], "access": "read-only"}, {"token": "b", "namespaces": ["x"], "access": "admin"}]}"#.utf8)
            .write(to: file)
        let serve = try ServeProcess(["serve", "--port", "0", "--store", "memory:", "--tokens", file.path])
        #expect(try await serve.exitStatus() == 2)
        #expect(serve.stderr.contains("\(file.path): entry 2: \"access\" must be \"read-write\" or \"read-only\""))
    }

    @Test func servesMCPAtSlashMCPBehindTokensWithoutLoggingThem() async throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("tokens-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: file) }
        try Data(#"{"tokens": [{"token": "mcp-secret-1", "namespaces": ["crew"], "access": "read-only", "agent": "watcher"}]}"#.utf8)
            .write(to: file)
        let serve = try ServeProcess([
            "serve", "--port", "0", "--store", "memory:", "--tokens", file.path, "--namespace", "crew", "--mcp-tools", "all",
        ])
        let client = try await serve.client(token: "mcp-secret-1")
        // `--namespace crew` is what /mcp serves without ?namespace=; the read-only token sees the read tools of `all`.
        let opened = try await MCPRequests.initialize(client, "/mcp")
        #expect(opened.status == 200, "\(opened.text)")
        let session = try #require(opened.headers["mcp-session-id"])
        let tools = try await MCPRequests.post(client, "/mcp", MCPRequests.listTools, session: session)
        let names = tools.json["result"]?["tools"]?.arrayValue?.compactMap { $0["name"]?.stringValue }
        #expect(names == ["recall", "list_memory", "search_memory"])
        #expect(try await MCPRequests.initialize(client, "/mcp?namespace=team").status == 403)
        let wrong = HTTPTestClient(port: client.port, token: "mcp-secret-2")
        #expect(try await MCPRequests.initialize(wrong, "/mcp").status == 401)
        // SIGTERM ends the session's open notification stream (GET) and the process exits 0.
        #expect(try await MCPRequests.post(client, "/mcp", MCPRequests.initialized, session: session).status == 202)
        let listener = Task {
            try await client.readStream(
                "/mcp", headers: MCPRequests.headers(session: session, accept: "text/event-stream"), until: "\u{0}never", count: 1)
        }
        let started = #"agent_memory_http_requests_total{method="GET",route="/mcp",status="200"} 1"#
        while !(try await client.get("/metrics").text.contains(started)) { try await Task.sleep(for: .milliseconds(20)) }
        #expect(try await serve.stop() == 0)
        #expect(try await listener.value.contains("text/event-stream"))
        #expect(!serve.stderr.contains("mcp-secret"), "\(serve.stderr)")
        #expect(!serve.stdout.contains("mcp-secret"), "\(serve.stdout)")
    }

    @Test(.enabled(if: postgresURL != nil, "PostgreSQL: AGENT_MEMORY_TEST_POSTGRES_URL is not set (.ci/run sets it)"))
    func twoServersSharingPostgreSQLLoseNoIncrement() async throws {
        let url = try #require(Self.postgresURL)
        let schema = "agent_memory_srv_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12).lowercased()
        let store = url + (url.contains("?") ? "&" : "?") + "schema=" + schema
        let first = try ServeProcess(["serve", "--port", "0", "--store", store])
        let a = try await first.client()
        #expect(try await a.get("/memory/crew/none").status == 404)  // the schema exists before the second starts
        let second = try ServeProcess(["serve", "--port", "0", "--store", store])
        let b = try await second.client()
        try await incrementConcurrently(clients: [a, b, a, b], times: 25)
        #expect(try await a.get("/memory/crew/counter").json["value"] == "100")
        #expect(try await b.get("/memory/crew/counter").headers["etag"] == "\"101\"")

        try await withThrowingTaskGroup(of: Int.self) { group in
            for index in 0..<50 {
                let client = index % 2 == 0 ? a : b
                group.addTask { try await client.put("/memory/crew/key-\(index)", value: "v").status }
            }
            for try await status in group { #expect(status == 200) }
        }
        #expect(try await b.get("/memory/crew?prefix=key-").json["count"] == 50)
        #expect(try await first.stop() == 0)
        #expect(try await second.stop() == 0)
    }
}
