import AgentMemoryJSON
import ClaudeClient
import ClaudeMessages
import AgentMemoryCore
import Logging

/// Runs an agent: calls Claude, runs the tool calls of each turn through a ``ToolExecutor``,
/// sends the results back, and repeats until Claude is done, saving the session after every step.
///
/// ```swift
/// let loop = AgentLoop(client: try .fromEnvironment(), executor: executor,
///                      configuration: AgentConfiguration(model: AgentConfiguration.defaultModel, system: "You remember things."))
/// let session = try await AgentSession.open(id: "s1", store: MemoryStoreSessionStore(store: store, namespace: ns))
/// let result = try await loop.run("Remember that I like tea.", in: session)
/// ```
///
/// Stop reasons: `tool_use` runs every `tool_use` block and sends one user message with all
/// results; `pause_turn` and `compaction` (after `pause_after_compaction`) send the turn back to
/// continue; anything else (`end_turn`, `stop_sequence`, `max_tokens`, `refusal`,
/// `model_context_window_exceeded`, reasons added later) ends the run, and tool calls in such a
/// turn are not run (`lib/tools/_beta_runner.py` of the `anthropic` 2.14.0 Python package maps
/// them the same way). Cancel the calling task to stop a run; what was saved stays.
///
/// Long sessions: requests send the conversation from the latest `compaction` block on (see
/// ``ConversationView``), with ``AgentConfiguration/contextManagement`` and within
/// ``AgentConfiguration/contextWindow`` when set; the session keeps every message.
public struct AgentLoop: Sendable {
    /// The Messages API client.
    public let client: ClaudeClient
    /// Runs the tools and provides their definitions.
    public let executor: any ToolExecutor
    /// Model, prompt and limits.
    public let configuration: AgentConfiguration
    /// Observers and the tool-call veto.
    public let hooks: AgentHooks
    /// Where each model call and its outcome are logged; nothing by default.
    public let logger: Logger
    /// Message sizes the client-side window measured, reused by later requests.
    let sizeCache = MessageSizeCache()

    /// Creates a loop.
    public init(
        client: ClaudeClient, executor: any ToolExecutor, configuration: AgentConfiguration, hooks: AgentHooks = AgentHooks(),
        logger: Logger = Logger(label: "AgentMemory.agent-loop", factory: { _ in SwiftLogNoOpLogHandler() })
    ) {
        self.client = client
        self.executor = executor
        self.configuration = configuration
        self.hooks = hooks
        self.logger = logger
    }

    /// Adds `prompt` as a user turn (unless `nil`) and runs until Claude stops, the maximum
    /// number of iterations is reached, or the task is cancelled.
    ///
    /// A session whose last assistant turn asked for tools that never got results is completed
    /// first (see ``AgentConfiguration/interruptedToolCalls``); with a `nil` prompt, a session
    /// that ends in a user turn or a paused turn is continued.
    public func run(_ prompt: String?, in session: AgentSession) async throws -> AgentRunResult {
        let transcript = await session.transcript
        var pending = try await unansweredResults(transcript, hasPrompt: prompt != nil)
        if let prompt {
            if pending.isEmpty {
                try await session.append([.user(prompt)])
            } else {
                pending.append(.text(prompt))
                try await session.append([Message(role: .user, content: pending)])
            }
        } else if !pending.isEmpty {
            try await session.append([Message(role: .user, content: pending)])
        }

        var result = AgentRunResult(stopReason: nil, reachedMaxIterations: false, iterations: 0, usage: .zero, lastResponse: nil)
        var calibration = TokenCalibration()
        while true {
            let transcript = await session.transcript
            guard let last = transcript.messages.last,
                  last.role == .user || Self.continuesTurn(transcript.lastStopReason)
            else {
                if result.lastResponse == nil { result.stopReason = transcript.lastStopReason }
                return result
            }
            if result.iterations >= configuration.maxIterations {
                result.reachedMaxIterations = true
                return result
            }
            try Task.checkCancellation()
            let prepared = try await prepareRequest(transcript, calibration: &calibration)
            let response = try await client.send(
                prepared.request, streaming: configuration.streaming, onEvent: configuration.streaming ? hooks.streamEvent : nil,
                betas: prepared.betas)
            result.iterations += 1
            logger.debug(
                "model call", metadata: [
                    "session": "\(session.id)", "iteration": "\(result.iterations)",
                    "stop_reason": "\(response.stopReason?.rawValue ?? "none")", "tool_calls": "\(response.toolUses.count)",
                    "input_tokens": "\(response.usage.inputTokens)", "output_tokens": "\(response.usage.outputTokens)",
                ])
            result.usage += response.usage
            result.lastResponse = response
            result.stopReason = response.stopReason
            let edits = AppliedContextEdit.edits(in: response)
            var marks = prepared.marks
            marks.serverClearedBefore = serverClearedBefore(edits.compactMap(\.clearedToolUses).reduce(0, +), in: prepared)
            try await session.append([response.message], stopReason: response.stopReason, usage: response.usage, contextMarks: marks)
            let report = ContextReport(
                appliedEdits: edits, compacted: response.content.contains { $0.type == "compaction" },
                compactedMessages: prepared.marks.compactedBefore, window: prepared.window)
            if report.changedContext {
                result.contextReports.append(report)
                await hooks.didManageContext?(report)
            }
            await hooks.didReceiveTurn?(response)
            switch response.stopReason {
            case .toolUse?:
                let toolUses = response.toolUses
                guard !toolUses.isEmpty else { return result }
                let results = try await runTools(toolUses)
                // Saved even when cancelled meanwhile: the calls did run.
                try await session.append([Message(role: .user, content: results)])
            case .pauseTurn?, .compaction?:
                continue
            default:
                return result
            }
        }
    }

    /// Whether a saved assistant turn that stopped for `reason` is sent back to be continued.
    static func continuesTurn(_ reason: StopReason?) -> Bool { reason == .pauseTurn || reason == .compaction }

    /// Continues a session without a new prompt; see ``run(_:in:)``.
    public func resume(_ session: AgentSession) async throws -> AgentRunResult {
        try await run(nil, in: session)
    }

    /// The request for the conversation `messages`, with the configured cache breakpoints.
    public func makeRequest(_ messages: [Message]) -> MessageRequest {
        var tools = executor.toolDefinitions
        if configuration.promptCaching.tools, let index = tools.indices.last, tools[index].cacheControl == nil {
            tools[index] = tools[index].withCacheControl(configuration.promptCaching.cacheControl)
        }
        var system = configuration.system
        if configuration.promptCaching.system, let prompt = system {
            system = prompt.withCacheControl(configuration.promptCaching.cacheControl)
        }
        var extraFields = configuration.extraFields
        if let management = configuration.contextManagement, !management.isEmpty {
            extraFields["context_management"] = management.jsonValue(offeredTools: executor.toolDefinitions.map(\.name))
        }
        return MessageRequest(
            model: configuration.model, maxTokens: configuration.maxTokens, system: system, messages: messages,
            tools: tools, toolChoice: configuration.toolChoice, temperature: configuration.temperature,
            thinking: configuration.thinking, extraFields: extraFields)
    }

    /// Runs the calls through the veto hook and the executor; one result per call, in order.
    /// Throws `CancellationError` when the task is cancelled before the executor starts.
    func runTools(_ toolUses: [ToolUse]) async throws -> [ContentBlock] {
        var results = [ContentBlock?](repeating: nil, count: toolUses.count)
        var allowed: [(index: Int, call: ToolUse)] = []
        for (index, call) in toolUses.enumerated() {
            if let hook = hooks.shouldRunTool, case .deny(let reason) = await hook(call) {
                results[index] = .toolResult(toolUseID: call.id, content: reason, isError: true)
            } else {
                allowed.append((index, call))
            }
        }
        try Task.checkCancellation()
        if !allowed.isEmpty {
            let executed = await executor.execute(allowed.map(\.call))
            var byID: [String: ContentBlock] = [:]
            for block in executed {
                if let id = block.toolResult?.toolUseID, byID[id] == nil { byID[id] = block }
            }
            for entry in allowed {
                // Matched by id, so an executor that reorders or drops results cannot mismatch them.
                results[entry.index] = byID[entry.call.id]
                    ?? .toolResult(toolUseID: entry.call.id, content: "The tool executor returned no result for this call.", isError: true)
            }
        }
        var ordered: [ContentBlock] = []
        for (index, call) in toolUses.enumerated() {
            let block = results[index]!
            await hooks.didRunTool?(call, block)
            ordered.append(block)
        }
        return ordered
    }

    /// Results that answer the tool calls of a saved last assistant turn that has none yet.
    private func unansweredResults(_ transcript: SessionTranscript, hasPrompt: Bool) async throws -> [ContentBlock] {
        guard let last = transcript.messages.last, last.role == .assistant else { return [] }
        let calls = last.toolUses
        guard !calls.isEmpty else { return [] }
        let reason = transcript.lastStopReason
        if reason == .toolUse || reason == nil {
            switch configuration.interruptedToolCalls {
            case .execute:
                return try await runTools(calls)
            case .reportInterrupted:
                return calls.map {
                    .toolResult(
                        toolUseID: $0.id,
                        content: "Interrupted: the agent stopped before this tool call returned, so it may or may not have "
                            + "taken effect. Check the current state before calling it again.",
                        isError: true)
                }
            }
        }
        // A turn that stopped for another reason (max_tokens, ...) was not run; the API still
        // needs an answer to each call before a new user turn.
        guard hasPrompt, !Self.continuesTurn(reason) else { return [] }
        return calls.map {
            .toolResult(
                toolUseID: $0.id,
                content: "Not run: the turn stopped (\(reason?.rawValue ?? "no stop reason")) before the tool calls could run.",
                isError: true)
        }
    }
}
