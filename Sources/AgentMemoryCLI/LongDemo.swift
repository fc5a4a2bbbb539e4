import ClaudeMessages
import AgentLoop
import AgentMemory
import AgentMemoryRuntime
import AgentMemoryTesting
import ClaudeClient
import Foundation

/// The tools of the long demo: the memory tools plus `read_page`, whose results are long (the
/// kind of context that fills a window).
struct DemoReadingExecutor: ToolExecutor {
    let memory: MemoryToolExecutor

    var toolDefinitions: [ToolDefinition] {
        memory.toolDefinitions + [
            ToolDefinition(
                name: "read_page", description: "Read one page of the report.",
                inputSchema: [
                    "type": "object", "properties": ["page": ["type": "integer"]], "required": ["page"], "additionalProperties": false,
                ])
        ]
    }

    func execute(_ toolUses: [ToolUse]) async -> [ContentBlock] {
        var results: [ContentBlock] = []
        for call in toolUses {
            if call.name == "read_page" {
                let page = call.input["page"]?.intValue ?? 0
                let text = (1...20).map { "Page \(page), line \($0): quarterly figures, footnotes and remarks of the long report." }
                results.append(.toolResult(toolUseID: call.id, content: text.joined(separator: "\n")))
            } else {
                results += await memory.execute([call])
            }
        }
        return results
    }
}

/// The long demo's budget of each request's input tokens.
let longDemoBudget = 3000

extension Demo {
    /// A loop for the long demo against `client`, with the window and clearing turned on.
    func longDemoLoop(store: any MemoryStore, namespace: Namespace, client: ClaudeClient) throws -> AgentLoop {
        let executor = DemoReadingExecutor(
            memory: MemoryToolExecutor(store: store, namespace: namespace, agent: (try global.resolvedAgent()) ?? "demo-agent"))
        let configuration = AgentConfiguration(
            model: "scripted-model", system: .text(MemoryAgent.defaultSystemPrompt + " " + ContextManagement.memoryReminder),
            maxIterations: turns + 5, streaming: false, contextManagement: .clearingToolUses,
            contextWindow: ContextWindow(maxInputTokens: longDemoBudget))
        return AgentLoop(client: client, executor: executor, configuration: configuration)
    }

    /// Run 1: a long session; then a second process resumes it.
    func runLongDemo() async throws {
        guard turns >= 31 else { throw CLIError("--turns must be at least 31 (run 2 asks about page 30), got \(turns)", exitCode: 2) }
        let namespace = try global.resolvedNamespace()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("agent-memory-demo-\(UUID().uuidString)")
        var storeURL = "sqlite:" + directory.appendingPathComponent("demo.sqlite").path
        let explicitStore = global.settings.namesStore
        if explicitStore {
            guard try global.location() != .inMemory else {
                throw CLIError("demo --long resumes the session in a second process, so it needs a store on disk or PostgreSQL, not memory:", exitCode: 2)
            }
            // As given (a PostgreSQL URL keeps its password for the second process).
            storeURL = global.store ?? global.environment["AGENT_MEMORY_STORE"] ?? storeURL
        } else {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        }
        defer { try? FileManager.default.removeItem(at: directory) }
        let server = try ScriptedMessagesServer()
        defer { server.stop() }
        let sessionID = "long-demo-\(UUID().uuidString.lowercased().prefix(8))"
        try printLine("""
            THE MODEL IS SCRIPTED: nothing is sent to Anthropic. A local ScriptedMessagesServer plays Claude; \
            the agent loop, the tools, the store, the saved session and the context window are the real ones.
            Store: \(storeURL)\(explicitStore ? "" : " (throwaway, deleted at the end)"), namespace "\(namespace)".
            Session \(sessionID): \(turns) model calls, each reading a long page; every 10th also saves a finding to memory.
            Requests are kept under --max-context \(longDemoBudget) tokens (old tool results cleared first, then old turns left out);
            the requests also ask the API to clear old tool uses (--context-management), which the scripted server ignores.
            """)
        var script: [ScriptedResponse] = []
        for call in 1..<turns {
            var content: [ContentBlock] = [.text("Reading page \(call).")]
            if call % 10 == 0 {
                content.append(.toolUse(
                    id: "toolu_save_\(call)", name: "remember",
                    input: ["key": .string("finding.page\(call)"), "value": .string("page \(call): revenue up \(call % 7 + 2)%")]))
            }
            content.append(.toolUse(id: "toolu_read_\(call)", name: "read_page", input: ["page": .int(call)]))
            script.append(.message(MessageResponse(
                id: "msg_\(call)", model: "scripted-model", content: content, stopReason: .toolUse, usage: Usage(inputTokens: 2000, outputTokens: 30))))
        }
        script.append(.message(MessageResponse(
            id: "msg_done", model: "scripted-model", content: [.text("I read every page and saved the findings to memory.")],
            stopReason: .endTurn, usage: Usage(inputTokens: 2000, outputTokens: 20))))
        server.enqueue(script)
        let store = try StoreLocation(parsing: storeURL).open()
        let client = ClaudeClient(configuration: ClaudeConfiguration(apiKey: "scripted-demo-key", baseURL: server.baseURL))
        let result: AgentRunResult
        let findings: Int
        do {
            let session = try await AgentSession.open(id: sessionID, store: MemoryStoreSessionStore(store: store, namespace: namespace))
            result = try await longDemoLoop(store: store, namespace: namespace, client: client)
                .run("Read the whole report, one page per step, and keep the findings.", in: session)
            findings = try await store.list(in: namespace, prefix: "finding.", cursor: nil, limit: 1000).records.count
        } catch {
            try? await store.close()
            throw error
        }
        // Closed before the second process opens the same file.
        try await store.close()
        let requests = server.messageRequests
        try printLine("\n  call  messages saved  messages sent  request tokens")
        for (index, request) in requests.enumerated() where index == 0 || (index + 1) % 10 == 0 || index == requests.count - 1 {
            let saved = 2 * index + 1
            let line = String(format: "  %4d  %14d  %13d  %14d", index + 1, saved, request.messages.count, ScriptedAPIRules.tokenCount(of: request.json ?? .null))
            try printLine(line)
        }
        try printLine("""

            Run 1 ended with \(result.stopReason?.rawValue ?? "no call") after \(result.iterations) calls; \
            \(server.countTokensRequests.count) count_tokens calls; \(findings) findings in memory; \
            ~\(result.tokensSavedByContextManagement) input tokens left out of the requests (summed over the calls).
            """)
        try printLine("\nRun 2 · a second process resumes session \(sessionID) and asks about page 30:")
        guard let executable = Bundle.main.executableURL else { throw CLIError("cannot find this program's path", exitCode: 1) }
        let process = Process()
        process.executableURL = executable
        process.arguments = ["demo", "--resume-session", sessionID, "--store", storeURL, "--namespace", namespace.name]
        process.environment = global.environment
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0, result.stopReason == .endTurn, findings == (turns - 1) / 10 else {
            throw CLIError("the demo did not go as scripted (see above)", exitCode: 1)
        }
        try printLine("Again: the model was scripted. With ANTHROPIC_API_KEY, `agent-memory run ... --max-context TOKENS` does this with Claude.")
    }

    /// Run 2 of the long demo, in its own process: resumes the session, recalls a finding.
    func resumeLongDemo(sessionID: String) async throws {
        let namespace = try global.resolvedNamespace()
        try await global.withStore { store in try await resumeLongDemo(sessionID: sessionID, store: store, namespace: namespace) }
    }

    private func resumeLongDemo(sessionID: String, store: any MemoryStore, namespace: Namespace) async throws {
        let server = try ScriptedMessagesServer()
        defer { server.stop() }
        let client = ClaudeClient(configuration: ClaudeConfiguration(apiKey: "scripted-demo-key", baseURL: server.baseURL))
        let sessions = MemoryStoreSessionStore(store: store, namespace: namespace)
        let session = try await AgentSession.open(id: sessionID, store: sessions)
        let saved = await session.messages.count
        server.enqueue(.message(MessageResponse(
            id: "msg_resume_1", model: "scripted-model",
            content: [.toolUse(id: "toolu_recall", name: "recall", input: ["key": "finding.page30"])], stopReason: .toolUse)))
        let loop = try longDemoLoop(store: store, namespace: namespace, client: client)
        let hooks = AgentHooks(didRunTool: { _, block in
            let text = block.toolResult?.text ?? ""
            printProgress("  ← recall: \(text)")
            server.enqueue(.message(MessageResponse(
                id: "msg_resume_2", model: "scripted-model", content: [.text("From memory: \(text)")], stopReason: .endTurn)))
        })
        let resumed = AgentLoop(client: loop.client, executor: loop.executor, configuration: loop.configuration, hooks: hooks)
        let result = try await resumed.run("What did page 30 say?", in: session)
        let first = server.messageRequests.first
        try printLine("""
              process \(ProcessInfo.processInfo.processIdentifier): \(saved) messages saved; its first request sent \
            \(first?.messages.count ?? 0) of them at \(ScriptedAPIRules.tokenCount(of: first?.json ?? .null)) tokens \
            (budget \(longDemoBudget)); claude (scripted): \(result.text)
            """)
        guard result.stopReason == .endTurn else { throw CLIError("the resumed run did not go as scripted", exitCode: 1) }
    }
}
