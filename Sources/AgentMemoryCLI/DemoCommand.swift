import ClaudeMessages
import AgentMemoryJSON
import AgentLoop
import AgentMemory
import AgentMemoryRuntime
import AgentMemoryTesting
import ArgumentParser
import ClaudeClient
import Foundation

struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Show memory surviving between two agent runs, without an API key (the model is scripted).",
        discussion: """
            Starts a scripted Messages API server on 127.0.0.1 and runs the real agent loop, memory tools, \
            store and session transcripts against it, twice: in run 1 the scripted model remembers a fact, \
            in run 2 (a new store connection, loop and session) it recalls it. Nothing is sent to Anthropic. \
            Uses a throwaway SQLite file unless --store (or AGENT_MEMORY_STORE) is given. With --long, a long \
            session instead: many model calls reading long pages under --max-context, the request size staying \
            flat while memory keeps the findings, then a second process resuming the session (a --store \
            must be one that a second process can open: not memory:).
            """)

    @OptionGroup var options: GlobalOptions
    @ParentCommand var root: AgentMemoryCommand
    var global: GlobalOptions { options.merged(over: root.options) }

    @Flag(help: "Run a long scripted session under a client-side context window, then resume it in a second process.")
    var long = false

    @Option(help: ArgumentHelp("With --long: the model calls of the long session.", valueName: "n"))
    var turns = 60

    @Option(help: ArgumentHelp(visibility: .private)) var resumeSession: String?

    func run() async throws {
        try await runReportingErrors {
            if let resumeSession {
                try await resumeLongDemo(sessionID: resumeSession)
            } else if long {
                try await runLongDemo()
            } else {
                var opened = Opened()
                do {
                    try await runDemo(opened: &opened)
                } catch {
                    try? await opened.release()
                    throw error
                }
                try await opened.release()
            }
        }
    }

    /// What a demo opened: the stores, closed at the end, then the throwaway folder, deleted.
    private struct Opened {
        var stores: [any MemoryStore] = []
        var throwaway: URL?

        func release() async throws {
            defer { if let throwaway { try? FileManager.default.removeItem(at: throwaway) } }
            for store in stores { try await store.close() }
        }
    }

    /// The two runs; what they open goes into `opened`, for the caller to release.
    private func runDemo(opened: inout Opened) async throws {
        let namespace = try global.resolvedNamespace()
        let explicitStore = global.settings.namesStore
        let location: StoreLocation
        var throwaway: URL?
        if explicitStore {
            location = try global.location()
        } else {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("agent-memory-demo-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            throwaway = directory
            opened.throwaway = directory
            location = .sqlite(path: directory.appendingPathComponent("demo.sqlite").path)
        }

        let server: ScriptedMessagesServer
        do {
            server = try ScriptedMessagesServer()
        } catch {
            throw CLIError("cannot start the scripted server on 127.0.0.1: \(error)", exitCode: 1)
        }
        defer { server.stop() }
        let client = ClaudeClient(configuration: ClaudeConfiguration(apiKey: "scripted-demo-key", baseURL: server.baseURL))
        let model = "scripted-model"
        let key = "user.favorite_tea"
        let suffix = UUID().uuidString.lowercased().prefix(8)
        let firstSession = "demo-\(suffix)-1"
        let secondSession = "demo-\(suffix)-2"

        try printLine("""
            THE MODEL IS SCRIPTED: nothing is sent to Anthropic and no API key is used. A local \
            ScriptedMessagesServer (\(server.baseURL.absoluteString)) plays Claude with fixed answers; the \
            agent loop, the memory tools, the store and the saved sessions are the real ones.
            Store: \(location)\(throwaway == nil ? "" : " (throwaway, deleted at the end)"), namespace "\(namespace)".
            """)

        // Run 1: the scripted model saves a fact with `remember`.
        server.enqueue(
            .stream(MessageResponse(
                id: "msg_demo_1", model: model,
                content: [
                    .text("I'll save that to memory."),
                    .toolUse(id: "toolu_demo_1", name: "remember", input: ["key": .string(key), "value": "jasmine"]),
                ],
                stopReason: .toolUse, usage: Usage(inputTokens: 420, outputTokens: 40))),
            .stream(MessageResponse(
                id: "msg_demo_2", model: model, content: [.text("Saved: your favourite tea is jasmine.")],
                stopReason: .endTurn, usage: Usage(inputTokens: 480, outputTokens: 12))))
        let firstPrompt = "Hi! My favourite tea is jasmine. Please remember that."
        try printLine("\nRun 1 · session \(firstSession)\n  user: \(firstPrompt)")
        let firstStore = try location.open()
        opened.stores.append(firstStore)
        let first = try await runOnce(
            prompt: firstPrompt, sessionID: firstSession, store: firstStore, namespace: namespace, client: client, model: model,
            onToolResult: { _ in })

        // Run 2: a new store connection, executor, loop and session (with a different id, so the
        // fact is not in the conversation); the scripted model calls `recall`, and its last answer
        // repeats whatever the store returned.
        server.enqueue(
            .stream(MessageResponse(
                id: "msg_demo_3", model: model,
                content: [
                    .text("Let me check my memory."),
                    .toolUse(id: "toolu_demo_2", name: "recall", input: ["key": .string(key)]),
                ],
                stopReason: .toolUse, usage: Usage(inputTokens: 400, outputTokens: 30))))
        let secondPrompt = "Which tea do I like?"
        try printLine("\nRun 2 · new store connection, loop and session \(secondSession)\n  user: \(secondPrompt)")
        // (`memory:` lives in this process only, so both runs share that one store object.)
        let secondStore = location == .inMemory ? firstStore : try location.open()
        if location != .inMemory { opened.stores.append(secondStore) }
        let second = try await runOnce(
            prompt: secondPrompt, sessionID: secondSession, store: secondStore, namespace: namespace, client: client, model: model,
            onToolResult: { result in
                let answer = result.isError ? "My memory has nothing under \(key): \(result.text)" : "You like \(result.text) tea."
                server.enqueue(.stream(MessageResponse(
                    id: "msg_demo_4", model: model, content: [.text(answer)], stopReason: .endTurn,
                    usage: Usage(inputTokens: 450, outputTokens: 8))))
            })

        let requests = server.requests
        let secondRunFirstRequest = requests.count >= 3 ? requests[2].messages : []
        let recalled = try await secondStore.get(key, in: namespace)
        let sessions = try await MemoryStoreSessionStore(store: secondStore, namespace: namespace).list()
            .filter { $0.id == firstSession || $0.id == secondSession }
        try printLine("""

            What happened:
            - run 1 wrote "\(key)" = \(recalled.map { MemoryText.text(of: $0.value) } ?? "nothing") \
            (version \(recalled?.version ?? 0)) to the store through the real memory tools;
            - run 2's first request carried \(secondRunFirstRequest.count) message(s), only its own prompt, so \
            the value came back from the store, not from the conversation;
            - \(requests.count) requests reached the scripted server; sessions saved: \
            \(sessions.map { "\($0.id) (\($0.messageCount) messages)" }.joined(separator: ", "));
            - run 1 ended with \(first.stopReason?.rawValue ?? "no call"), run 2 with \(second.stopReason?.rawValue ?? "no call").
            Again: the model was scripted. With ANTHROPIC_API_KEY set, `agent-memory run "..." --session ID` does the same with Claude.
            """)
        guard first.stopReason == .endTurn, second.stopReason == .endTurn, recalled != nil else {
            throw CLIError("the demo did not go as scripted (see above)", exitCode: 1)
        }
    }

    private func runOnce(
        prompt: String, sessionID: String, store: any MemoryStore, namespace: Namespace, client: ClaudeClient, model: String,
        onToolResult: @escaping @Sendable (ToolResult) -> Void
    ) async throws -> AgentRunResult {
        let hooks = AgentHooks(
            shouldRunTool: { call in
                printProgress("  → \(call.name) \(call.input.jsonString())")
                return .run
            },
            didRunTool: { _, block in
                guard let result = block.toolResult else { return }
                printProgress("  ← \(result.isError ? "error: " : "")\(MemoryText.singleLine(result.text, limit: 200))")
                onToolResult(result)
            },
            didReceiveTurn: { response in
                printProgress("  claude (scripted): \(response.text)")
            })
        let agent = try await MemoryAgent.open(
            sessionID: sessionID, store: store, namespace: namespace, agent: (try global.resolvedAgent()) ?? "demo-agent", client: client,
            configuration: AgentConfiguration(model: model, system: .text(MemoryAgent.defaultSystemPrompt), maxIterations: 5),
            hooks: hooks)
        do {
            return try await agent.run(prompt)
        } catch let error as ClaudeAPIError {
            throw CLIError("the scripted server answered with an error: \(error)", exitCode: 1)
        }
    }
}
