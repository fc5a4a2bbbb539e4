import AgentLoop
import ClaudeMessages
import ClaudeClient
import AgentMemoryJSON
import AgentMemory
import AgentMemoryTesting
import Foundation
import Testing

/// `run`, `chat`, `sessions`, `transcript` and `demo`, run as processes against a scripted
/// Messages API server on 127.0.0.1.
@Suite("agent-memory run, chat, sessions, transcript, demo", .serialized)
struct RunCommandTests {
    /// The environment pointing the CLI at `server`, with the model left to its default.
    static func environment(_ server: ScriptedMessagesServer, apiKey: String = "test-key") -> [String: String] {
        ["ANTHROPIC_BASE_URL": server.baseURL.absoluteString, "ANTHROPIC_API_KEY": apiKey, "AGENT_MEMORY_MODEL": ""]
    }

    static func response(_ id: String, _ content: [ContentBlock], _ stopReason: StopReason) -> MessageResponse {
        MessageResponse(id: id, model: "claude-sonnet-5-5", content: content, stopReason: stopReason, usage: Usage(inputTokens: 10, outputTokens: 5))
    }

    static func toolNames(_ request: RecordedRequest) -> [String] {
        (request.json?["tools"]?.arrayValue ?? []).compactMap { $0["name"]?.stringValue }
    }

    @Test func aSecondProcessContinuesTheSessionAndRecallsTheValue() async throws {
        let server = try ScriptedMessagesServer()
        defer { server.stop() }
        let cli = CommandRunner()
        let environment = Self.environment(server)
        server.enqueue(
            .stream(Self.response("msg_1", [
                .text("I'll save that."),
                .toolUse(id: "toolu_1", name: "remember", input: ["key": "user.city", "value": "Lisbon"]),
            ], .toolUse)),
            .stream(Self.response("msg_2", [.text("Saved: you live in Lisbon.")], .endTurn)))

        let first = try await cli.run(["run", "Remember that I live in Lisbon.", "--session", "s1"], extraEnvironment: environment)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout == "I'll save that.\nSaved: you live in Lisbon.\n")
        #expect(first.stderr.contains("→ remember {\"key\":\"user.city\",\"value\":\"Lisbon\"}\n← Remembered \"user.city\" (version 1).\n"))
        #expect(first.stderr.contains("[end_turn · 2 model calls · tokens in 20"))

        let requests = server.requests
        try #require(requests.count == 2)
        let request = try #require(requests[0].json)
        #expect(requests[0].path == "/v1/messages")
        #expect(requests[0].headers["x-api-key"] == "test-key")
        #expect(requests[0].headers["anthropic-version"] == "2023-06-01")
        #expect(request["model"] == "claude-sonnet-5-5")
        #expect(request["stream"] == true)
        #expect(request["max_tokens"] == 4096)
        #expect(Self.toolNames(requests[0]) == ["remember", "recall", "list_memory"])
        let tools = request["tools"]?.arrayValue ?? []
        #expect(tools.last?["cache_control"] == ["type": "ephemeral"])
        #expect(tools.dropLast().allSatisfy { $0["cache_control"] == nil })
        #expect(requests[0].messages == [.user("Remember that I live in Lisbon.")])
        #expect(requests[1].messages.count == 3)
        #expect(requests[1].messages[2].blocks.first?.toolResult?.text == "Remembered \"user.city\" (version 1).")

        // A second process, a new prompt, the same session: the earlier turns go with it.
        server.enqueue(
            .stream(Self.response("msg_3", [.toolUse(id: "toolu_2", name: "recall", input: ["key": "user.city"])], .toolUse)),
            .stream(Self.response("msg_4", [.text("You live in Lisbon.")], .endTurn)))
        let second = try await cli.run(["run", "Where do I live?", "--session", "s1"], extraEnvironment: environment)
        #expect(second.status == 0, "\(second.stderr)")
        #expect(second.stdout == "You live in Lisbon.\n")
        #expect(second.stderr.contains("[continuing session s1 (4 messages)]"))
        #expect(second.stderr.contains("→ recall {\"key\":\"user.city\"}\n← Lisbon\n"))
        let later = server.requests
        try #require(later.count == 4)
        let resumed = later[2].messages
        #expect(resumed.count == 5)
        #expect(Array(resumed.prefix(3)) == requests[1].messages)
        #expect(resumed[3].text == "Saved: you live in Lisbon.")
        #expect(resumed[4] == .user("Where do I live?"))
        #expect(later[3].messages.last?.blocks.first?.toolResult?.text == "Lisbon")

        // sessions and transcript show what was saved.
        let sessions = try await cli.run(["sessions"])
        #expect(sessions.status == 0)
        let columns = sessions.stdout.split(separator: "\t")
        #expect(columns.count == 3 && columns[0] == "s1" && columns[1] == "8")
        #expect(columns.last.map { MemoryRecord.parseDate(String($0.dropLast())) != nil } == true)
        let transcript = try await cli.run(["transcript", "s1"])
        #expect(transcript.status == 0)
        let saved = try JSONValue(parsing: transcript.stdout).arrayValue ?? []
        #expect(try saved.map(Message.init(jsonValue:)) == later[3].messages + [Self.response("msg_4", [.text("You live in Lisbon.")], .endTurn).message])
        // The memory itself is in the namespace; the transcript is not among the model's keys.
        #expect(try await cli.run(["recall", "user.city"]).stdout == "Lisbon\n")
        let listed = try await cli.run(["exec"], stdin: #"[{"type":"tool_use","id":"t","name":"list_memory","input":{}}]"#)
        #expect(listed.stdout == #"{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":"user.city: Lisbon"}]}"# + "\n")
        let missing = try await cli.run(["transcript", "s2"])
        #expect(missing.status == 1)
        #expect(missing.stderr == "error: No session \"s2\" in namespace \"default\" (`agent-memory sessions` lists them)\n")
        #expect(try await cli.run(["sessions", "--namespace", "elsewhere"]).stdout == "")
    }

    @Test func optionsShapeTheRequest() async throws {
        let server = try ScriptedMessagesServer()
        defer { server.stop() }
        let cli = CommandRunner()
        server.enqueue(.message(Self.response("msg_1", [.text("Nothing stored yet.")], .endTurn)))
        let result = try await cli.run(
            ["run", "What do you know?", "--tools", "memory", "--no-stream", "--model", "claude-test-1", "--system", "Be brief.",
             "--max-tokens", "300"],
            extraEnvironment: Self.environment(server))
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == "Nothing stored yet.\n")
        // Without --session, a new id is made and printed so the user can continue it.
        #expect(result.stderr.hasPrefix("[session s-"))
        #expect(result.stderr.contains("(continue it with --session s-"))
        let request = try #require(server.requests.first?.json)
        #expect(request["tools"] == [["type": "memory_20250818", "name": "memory", "cache_control": ["type": "ephemeral"]]])
        #expect(request["stream"] == nil)
        #expect(request["model"] == "claude-test-1")
        #expect(request["max_tokens"] == 300)
        #expect(request["system"] == [["type": "text", "text": "Be brief.", "cache_control": ["type": "ephemeral"]]])

        // AGENT_MEMORY_MODEL comes before the default.
        server.enqueue(.message(Self.response("msg_2", [.text("Hi.")], .endTurn)))
        var environment = Self.environment(server)
        environment["AGENT_MEMORY_MODEL"] = "claude-from-env"
        #expect(try await cli.run(["run", "Hi", "--no-stream"], extraEnvironment: environment).status == 0)
        #expect(server.requests.last?.json?["model"] == "claude-from-env")
    }

    @Test func aMissingAPIKeyStopsBeforeAnyRequest() async throws {
        let server = try ScriptedMessagesServer()
        defer { server.stop() }
        let cli = CommandRunner()
        for arguments in [["run", "Hello", "--session", "s1"], ["chat"]] {
            let result = try await cli.run(arguments, stdin: "Hello\n", extraEnvironment: Self.environment(server, apiKey: ""))
            #expect(result.status == 2)
            #expect(result.stdout == "")
            #expect(result.stderr.hasPrefix("error: ANTHROPIC_API_KEY is not set, so nothing was sent."))
        }
        #expect(server.requests.isEmpty)
        #expect(try await cli.run(["sessions"]).stdout == "")
    }

    @Test func anAPIErrorExitsWithStatusOneAndKeepsTheTranscript() async throws {
        let server = try ScriptedMessagesServer()
        defer { server.stop() }
        let cli = CommandRunner()
        server.enqueue(.error(status: 400, type: "invalid_request_error", message: "max_tokens: too large", requestID: "req_400"))
        let result = try await cli.run(["run", "Hello", "--session", "bad"], extraEnvironment: Self.environment(server))
        #expect(result.status == 1)
        #expect(result.stdout == "")
        #expect(result.stderr.contains(
            "error: Claude API error 400 invalid_request_error: max_tokens: too large (request-id req_400)\n"
                + "The session \"bad\" is saved up to the failed call; run again with --session bad to continue it.\n"))
        #expect(server.requests.count == 1)  // a 400 is not retried
        #expect(try await cli.run(["transcript", "bad"]).stdout == "[{\"role\":\"user\",\"content\":\"Hello\"}]\n")
    }

    @Test func reachingMaxIterationsExitsWithStatusOne() async throws {
        let server = try ScriptedMessagesServer()
        defer { server.stop() }
        let cli = CommandRunner()
        server.enqueue(.stream(Self.response("msg_1", [.toolUse(id: "toolu_1", name: "list_memory", input: [:])], .toolUse)))
        let result = try await cli.run(["run", "Look around", "--session", "m", "--max-iterations", "1"], extraEnvironment: Self.environment(server))
        #expect(result.status == 1)
        #expect(result.stderr.contains("→ list_memory {}\n← "))
        #expect(result.stderr.contains("stopped after --max-iterations 1 model calls before Claude finished"))
        #expect(server.requests.count == 1)
        let bad = try await cli.run(["run", "x", "--max-iterations", "0"], extraEnvironment: Self.environment(server))
        #expect(bad.status == 2)
        #expect(bad.stderr == "error: --max-iterations must be at least 1, got 0\n")
    }

    @Test func chatSendsOneTurnPerLine() async throws {
        let server = try ScriptedMessagesServer()
        defer { server.stop() }
        let cli = CommandRunner()
        server.enqueue(
            .stream(Self.response("msg_1", [
                .toolUse(id: "toolu_1", name: "remember", input: ["key": "pet", "value": "a cat named Ada"]),
            ], .toolUse)),
            .stream(Self.response("msg_2", [.text("Noted.")], .endTurn)),
            .stream(Self.response("msg_3", [.text("A cat named Ada.")], .endTurn)))
        let result = try await cli.run(
            ["chat", "--session", "c1"], stdin: "I have a cat named Ada.\n\nWhat pet do I have?\n",
            extraEnvironment: Self.environment(server))
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == "Noted.\nA cat named Ada.\n")
        #expect(result.stderr.contains("← Remembered \"pet\" (version 1).\n"))
        let requests = server.requests
        try #require(requests.count == 3)
        #expect(requests[2].messages.count == 5)
        #expect(requests[2].messages.first == .user("I have a cat named Ada."))
        #expect(requests[2].messages.last == .user("What pet do I have?"))
        #expect(try await cli.run(["sessions"]).stdout.hasPrefix("c1\t6\t"))
    }

    /// Claude's reply streamed to a stdout that refuses it (`/dev/full`): before, Foundation's
    /// `FileHandle.write` crashed the process (`try!`, status 132); now `run` says so with
    /// status 1, the tool call it made and the session are kept, and `chat` stops at that turn.
    /// `export` likewise.
    @Test func runChatAndExportReportAStdoutThatRefusesTheirOutput() async throws {
        let server = try ScriptedMessagesServer()
        defer { server.stop() }
        let cli = CommandRunner()
        let full = try #require(FileHandle(forWritingAtPath: "/dev/full"))
        server.enqueue(
            .stream(Self.response("msg_1", [
                .text("Saving it."),
                .toolUse(id: "toolu_1", name: "remember", input: ["key": "user.city", "value": "Porto"]),
            ], .toolUse)),
            .stream(Self.response("msg_2", [.text("Saved.")], .endTurn)))
        let run = try await cli.finish(cli.start(
            "agent-memory", ["run", "I live in Porto.", "--session", "f1"], extraEnvironment: Self.environment(server),
            standardOutput: full))
        #expect(run.status == 1)
        #expect(run.stderr.hasSuffix(
            "error: cannot write to stdout: No space left on device. The session \"f1\" is saved; "
                + "run again with --session f1 to continue it.\n"), "\(run.stderr)")
        #expect(run.stderr.contains("← Remembered \"user.city\" (version 1).\n"))
        #expect(server.requests.count == 2)
        #expect(try await cli.run(["recall", "user.city"]).stdout == "Porto\n")
        #expect(try await cli.run(["sessions"]).stdout.hasPrefix("f1\t4\t"))

        server.enqueue(
            .stream(Self.response("msg_3", [.text("Hello.")], .endTurn)),
            .stream(Self.response("msg_4", [.text("Hello again.")], .endTurn)))
        let chat = try await cli.finish(cli.start(
            "agent-memory", ["chat", "--session", "f2"], stdin: "Hi.\nHi again.\n", extraEnvironment: Self.environment(server),
            standardOutput: full))
        #expect(chat.status == 1)
        #expect(chat.stderr.hasSuffix("error: cannot write to stdout: No space left on device. The session \"f2\" is saved; "
            + "run again with --session f2 to continue it.\n"), "\(chat.stderr)")
        #expect(server.requests.count == 3)

        let export = try await cli.finish(cli.start("agent-memory", ["export"], standardOutput: full))
        #expect(export.status == 1)
        #expect(export.stderr == "error: cannot write to stdout: No space left on device\n")
    }

    @Test func demoRunsWithoutAKeyAndSaysTheModelIsScripted() async throws {
        let cli = CommandRunner()
        let result = try await cli.run(["demo"], extraEnvironment: ["ANTHROPIC_API_KEY": "", "ANTHROPIC_BASE_URL": "http://127.0.0.1:9"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.hasPrefix("THE MODEL IS SCRIPTED: nothing is sent to Anthropic"))
        #expect(result.stdout.contains("  → remember {\"key\":\"user.favorite_tea\",\"value\":\"jasmine\"}\n  ← Remembered \"user.favorite_tea\" (version 1).\n"))
        #expect(result.stdout.contains("  → recall {\"key\":\"user.favorite_tea\"}\n  ← jasmine\n  claude (scripted): You like jasmine tea.\n"))
        #expect(result.stdout.contains("run 2's first request carried 1 message(s)"))
        // A throwaway store: the default file is never created.
        #expect(!FileManager.default.fileExists(atPath: cli.home.appendingPathComponent("memory.sqlite").path))

        // With --store, the demo writes there.
        let path = cli.home.appendingPathComponent("demo.sqlite").path
        #expect(try await cli.run(["demo", "--store", "sqlite:\(path)"]).status == 0)
        #expect(try await cli.run(["recall", "user.favorite_tea", "--store", "sqlite:\(path)"]).stdout == "jasmine\n")
        #expect(try await cli.run(["sessions", "--store", "sqlite:\(path)"]).stdout.split(separator: "\n").count == 2)
    }
}
