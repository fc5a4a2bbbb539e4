import ClaudeMessages
import AgentMemoryJSON
import AgentLoop
import AgentMemory
import AgentMemoryRuntime
import ArgumentParser
import ClaudeClient
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Options of `run` and `chat`.
struct AgentOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The session to continue, or to create when it does not exist (default: a new id, printed on stderr).", valueName: "id"))
    var session: String?

    @Option(help: ArgumentHelp("The model (default: $AGENT_MEMORY_MODEL, else \(AgentConfiguration.defaultModel)).", valueName: "model"))
    var model: String?

    @Option(help: ArgumentHelp("The system prompt (default: a short prompt about using memory; \"\" for none).", valueName: "text"))
    var system: String?

    @Option(help: ArgumentHelp("The most model calls for one prompt.", valueName: "n"))
    var maxIterations = 20

    @Option(help: ArgumentHelp("max_tokens of each request.", valueName: "n"))
    var maxTokens = 4096

    @Option(help: ArgumentHelp("Comma-separated memory tools, default or all; memory is Claude's built-in memory tool (default: remember,recall,list_memory).", valueName: "list"))
    var tools: String?

    @Flag(help: "Print each response when it is complete instead of streaming text as it arrives.")
    var noStream = false

    @Flag(help: "Let the API clear old tool results from the context (clear_tool_uses, server defaults; the memory tools' calls are kept).")
    var contextManagement = false

    @Option(help: ArgumentHelp("Let the API compact the conversation into a summary when the input reaches this many tokens.", valueName: "tokens"))
    var compactAt: Int?

    @Option(help: ArgumentHelp("Keep each request's input (system, tools, messages) under this many tokens on the client side: old tool results cleared first, then old turns left out; the session keeps everything.", valueName: "tokens"))
    var maxContext: Int?

    /// The server-side context management the flags ask for, or `nil`.
    func contextManagementConfiguration() throws -> ContextManagement? {
        if let compactAt, compactAt < 1 { throw CLIError("--compact-at must be at least 1, got \(compactAt)", exitCode: 2) }
        let management = ContextManagement(
            clearToolUses: contextManagement ? ClearToolUses() : nil,
            compaction: compactAt.map { Compaction(triggerTokens: $0) })
        return management.isEmpty ? nil : management
    }

    /// The client-side window the flags ask for, or `nil`.
    func contextWindowConfiguration() throws -> ContextWindow? {
        guard let maxContext else { return nil }
        guard maxContext >= 1 else { throw CLIError("--max-context must be at least 1, got \(maxContext)", exitCode: 2) }
        return ContextWindow(maxInputTokens: maxContext)
    }
}

/// An agent (assembled by the runtime) made from the command line, ready to run prompts.
struct CLIAgent {
    let agent: MemoryAgent
    /// The store the agent's memory and session are kept in; closed by ``closingStore(_:)``.
    let store: any MemoryStore
    let printer: TurnPrinter

    var loop: AgentLoop { agent.loop }
    var session: AgentSession { agent.session }

    /// Checks the options and environment, opens the store and the session. Nothing is sent.
    static func make(global: GlobalOptions, options: AgentOptions) async throws -> CLIAgent {
        let environment = global.environment
        guard options.maxIterations >= 1 else {
            throw CLIError("--max-iterations must be at least 1, got \(options.maxIterations)", exitCode: 2)
        }
        guard options.maxTokens >= 1 else { throw CLIError("--max-tokens must be at least 1, got \(options.maxTokens)", exitCode: 2) }
        let tools = try parseTools(options.tools)
        let contextManagement = try options.contextManagementConfiguration()
        let contextWindow = try options.contextWindowConfiguration()
        let sessionID = options.session ?? newSessionID()
        do {
            try SessionError.validate(id: sessionID)
        } catch let error as SessionError {
            throw CLIError(error.message + " (from --session)", exitCode: 2)
        }
        let clientConfiguration: ClaudeConfiguration
        do {
            clientConfiguration = try ClaudeConfiguration.fromEnvironment(environment)
        } catch let error as ClaudeAPIError {
            throw CLIError(error.message, exitCode: 2)
        }
        guard clientConfiguration.apiKey != nil else {
            throw CLIError(
                "ANTHROPIC_API_KEY is not set, so nothing was sent. Export your Anthropic API key "
                    + "(and ANTHROPIC_BASE_URL for another endpoint), or try `agent-memory demo`, which needs no key.",
                exitCode: 2)
        }
        let model = global.settings.model(options.model)
        // A managed context: the default prompt also asks the model to save progress to memory first.
        let managed = contextManagement != nil || contextWindow != nil
        let systemText = options.system
            ?? (managed ? MemoryAgent.defaultSystemPrompt + " " + ContextManagement.memoryReminder : MemoryAgent.defaultSystemPrompt)
        let namespace = try global.resolvedNamespace()
        let agentID = try global.resolvedAgent()
        let store = try global.settings.openStore()
        let printer = TurnPrinter(streaming: !options.noStream)
        let configuration = AgentConfiguration(
            model: model, maxTokens: options.maxTokens, system: systemText.isEmpty ? nil : .text(systemText),
            maxIterations: options.maxIterations, streaming: !options.noStream, contextManagement: contextManagement,
            contextWindow: contextWindow)
        let agent: MemoryAgent
        do {
            agent = try await MemoryAgent.open(
                sessionID: sessionID, store: store, namespace: namespace, agent: agentID,
                client: ClaudeClient(configuration: clientConfiguration), configuration: configuration, tools: tools,
                hooks: printer.hooks)
        } catch let error as SessionError {
            try? await store.close()
            throw CLIError(error.message, exitCode: 1)
        } catch {
            try? await store.close()
            throw error
        }
        let session = agent.session
        let agentSession = CLIAgent(agent: agent, store: store, printer: printer)
        if options.session == nil {
            printer.note("session \(sessionID) (continue it with --session \(sessionID))")
        } else {
            let messages = await session.messages.count
            printer.note(messages == 0 ? "new session \(sessionID)" : "continuing session \(sessionID) (\(messages) messages)")
        }
        let transcript = await session.transcript
        if let last = transcript.messages.last, last.role == .assistant, !last.toolUses.isEmpty,
            transcript.lastStopReason == .toolUse || transcript.lastStopReason == nil
        {
            printer.note(
                "the last run stopped before its \(last.toolUses.count) tool call(s) returned; "
                    + "Claude is told they were interrupted and may or may not have taken effect")
        }
        return agentSession
    }

    /// Runs `body`, then closes the store (also when `body` throws).
    func closingStore<Result>(_ body: () async throws -> Result) async throws -> Result {
        try await RuntimeSettings.closing(store) { _ in try await body() }
    }

    /// A new session id: `s-` and 12 random hex digits.
    static func newSessionID() -> String {
        "s-" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(12)
    }

    /// Runs one prompt and reports how it ended on stderr. Returns whether Claude finished its
    /// turn (`end_turn` or `stop_sequence`); throws a ``CLIError`` (status 1) for an API failure.
    func run(_ prompt: String) async throws -> Bool {
        let result: AgentRunResult
        do {
            result = try await loop.run(prompt, in: session)
        } catch let error as ClaudeAPIError {
            printer.endLine()
            let status: Int32 = error.kind == .missingAPIKey || error.kind == .invalidConfiguration ? 2 : 1
            throw CLIError(
                error.description + "\nThe session \"\(session.id)\" is saved up to the failed call; "
                    + "run again with --session \(session.id) to continue it.",
                exitCode: status)
        } catch let error as SessionError {
            printer.endLine()
            throw CLIError(error.message, exitCode: 1)
        } catch let error as ContextWindowError {
            printer.endLine()
            throw CLIError(
                "--max-context: " + error.message + ". Nothing more was sent; the session \"\(session.id)\" is saved.", exitCode: 1)
        }
        printer.endLine()
        if let failure = printer.stdoutFailure {
            // Claude's reply did not reach stdout whole: no exit status may say it did.
            throw CLIError(
                "cannot write to stdout: \(failure). The session \"\(session.id)\" is saved; "
                    + "run again with --session \(session.id) to continue it.", exitCode: 1)
        }
        let reason = result.stopReason?.rawValue ?? "no call"
        printer.note("\(reason) · \(result.iterations) model call\(result.iterations == 1 ? "" : "s") · tokens \(result.usage)")
        if !result.contextReports.isEmpty {
            let edits = result.contextReports.flatMap(\.appliedEdits)
            let trimmed = result.contextReports.filter { $0.window?.trimmed == true }.count
            var parts: [String] = []
            if !edits.isEmpty { parts.append("\(edits.count) edit\(edits.count == 1 ? "" : "s") applied by the API (\(edits.map(\.summary).joined(separator: ", ")))") }
            if result.contextReports.contains(where: \.compacted) { parts.append("compacted") }
            if trimmed > 0 { parts.append("\(trimmed) request\(trimmed == 1 ? "" : "s") trimmed by --max-context") }
            parts.append("\(result.tokensSavedByContextManagement) input tokens saved")
            printer.note("context: " + parts.joined(separator: " · "))
        }
        if result.contextWindowExceeded {
            printer.note(
                "the conversation filled the model's context window (stop reason model_context_window_exceeded); the transcript "
                    + "is saved intact. Continue it with --session \(session.id) and --context-management, --compact-at TOKENS or "
                    + "--max-context TOKENS, or start a new session")
            return false
        }
        if result.reachedMaxIterations {
            printer.note(
                "stopped after --max-iterations \(loop.configuration.maxIterations) model calls before Claude finished; "
                    + "run again with --session \(session.id) to continue")
            return false
        }
        switch result.stopReason {
        case .endTurn?, .stopSequence?:
            return true
        case .maxTokens?:
            printer.note("the reply was cut at --max-tokens \(loop.configuration.maxTokens)")
            return false
        case .refusal?:
            printer.note("Claude declined to continue (refusal)")
            return false
        default:
            printer.note("Claude stopped (\(reason)) without finishing its turn")
            return false
        }
    }
}

/// Prints a run as it happens: streamed text on stdout, tool calls and notes on stderr.
final class TurnPrinter: @unchecked Sendable {
    // `@unchecked`: `midLine` and `refusal` are guarded by `lock`.
    let streaming: Bool
    private let lock = NSLock()
    private var midLine = false
    /// Why stdout refused a write (`strerror`), once it has.
    private var refusal: String?

    init(streaming: Bool) { self.streaming = streaming }

    var hooks: AgentHooks {
        AgentHooks(
            shouldRunTool: { [self] call in
                endLine()
                writeError("→ \(call.name) \(MemoryText.singleLine(call.input.jsonString(), limit: 300))")
                return .run
            },
            didRunTool: { [self] _, block in
                guard let result = block.toolResult else { return }
                let text = MemoryText.singleLine(result.text, limit: 300)
                writeError(result.isError ? "← error: \(text)" : "← \(text)")
            },
            didReceiveTurn: { [self] response in
                if !streaming { writeOut(response.text) }
                endLine()
            },
            streamEvent: { [self] event in
                if case .textDelta(_, let text) = event { writeOut(text) }
            },
            didManageContext: { [self] report in
                endLine()
                note("context: " + report.summary)
            })
    }

    /// Writes text to stdout at once (no buffering, so it shows as it streams). Once stdout
    /// has refused a write (a full disk, a closed pipe), nothing more is written to it, and
    /// ``stdoutFailure`` says why.
    func writeOut(_ text: String) {
        guard !text.isEmpty else { return }
        lock.withLock {
            guard refusal == nil else { return }
            refusal = writeText(text, to: STDOUT_FILENO)
            midLine = !text.hasSuffix("\n")
        }
    }

    /// Ends the current stdout line, if text was left without a line break.
    func endLine() {
        lock.withLock {
            if midLine, refusal == nil { refusal = writeText("\n", to: STDOUT_FILENO) }
            midLine = false
        }
    }

    /// Why stdout refused a write of this printer's, or `nil` while it has taken them all.
    var stdoutFailure: String? { lock.withLock { refusal } }

    /// Writes a line to stderr; a refused line is dropped (the run's answer is on stdout, and
    /// the session is saved after every step whatever stderr does).
    func writeError(_ line: String) {
        _ = writeLine(line, to: STDERR_FILENO)
    }

    /// A note on stderr, in brackets so it stands apart from Claude's text.
    func note(_ text: String) { writeError("[\(text)]") }
}

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Send one prompt to Claude with the memory tools and run the agent loop until Claude is done.",
        discussion: """
            Needs ANTHROPIC_API_KEY (ANTHROPIC_BASE_URL for another endpoint). Claude's text streams to \
            stdout; tool calls (→) and results (←) go to stderr. The conversation is saved after every step \
            under --session in the namespace, so a later run with the same id continues it. \
            Exit status: 0 when Claude finished its turn, 1 for an API error or a run that stopped early \
            (max tokens, max iterations, refusal), 2 for bad options or a missing API key.
            """)

    @OptionGroup var options: GlobalOptions
    @ParentCommand var root: AgentMemoryCommand
    var global: GlobalOptions { options.merged(over: root.options) }
    @Argument(help: "The user turn to send.") var prompt: String
    @OptionGroup var agentOptions: AgentOptions

    func run() async throws {
        try await runReportingErrors {
            guard !prompt.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                throw CLIError("PROMPT is empty", exitCode: 2)
            }
            let agent = try await CLIAgent.make(global: global, options: agentOptions)
            let finished = try await agent.closingStore { try await agent.run(prompt) }
            guard finished else { throw ExitCode(1) }
        }
    }
}

struct Chat: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chat",
        abstract: "Talk with Claude line by line (one user turn per line of stdin) until end of input.",
        discussion: """
            Takes the same options as run. An API error is reported and the chat goes on with the next \
            line; the exit status is 1 when any turn failed or stopped early, else 0.
            """)

    @OptionGroup var options: GlobalOptions
    @ParentCommand var root: AgentMemoryCommand
    var global: GlobalOptions { options.merged(over: root.options) }
    @OptionGroup var agentOptions: AgentOptions

    func run() async throws {
        try await runReportingErrors {
            let agent = try await CLIAgent.make(global: global, options: agentOptions)
            let interactive = isatty(STDIN_FILENO) == 1
            let allFinished = try await agent.closingStore {
                var allFinished = true
                while true {
                    if interactive { _ = writeText("you> ", to: STDERR_FILENO) }
                    guard let line = readLine(strippingNewline: true) else { break }
                    let prompt = line.trimmingCharacters(in: .whitespaces)
                    if prompt.isEmpty { continue }
                    do {
                        if try await !agent.run(prompt) { allFinished = false }
                    } catch let error as CLIError where error.exitCode == 1 && agent.printer.stdoutFailure == nil {
                        // A failed turn is reported and the chat goes on; a stdout that refuses
                        // the replies ends it (the error reaches runReportingErrors).
                        printError(error.message)
                        allFinished = false
                    }
                }
                return allFinished
            }
            if interactive { _ = writeText("\n", to: STDERR_FILENO) }
            if !allFinished { throw ExitCode(1) }
        }
    }
}
