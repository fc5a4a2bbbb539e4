import AgentMemoryJSON
import AgentMemoryCore
import ClaudeMessages
import Foundation
import Logging

/// Runs Claude's memory tool calls against one namespace of a store.
///
/// The store, the namespace, the agent id (recorded as the author of every write) and the
/// access are bound when the executor is made; the model never chooses them. Every call gets
/// exactly one `tool_result`, in order, with the same id. Model mistakes and store failures
/// become `is_error` results with a message that names the field and the rule; a rejected call
/// writes nothing; the executor never throws or traps on model input. The tools themselves
/// live one per file (`RememberTool`, `RecallTool`, ...); the executor only decides which one
/// runs, and how a turn's calls are committed.
public struct MemoryToolExecutor: ToolExecutor {
    /// The store the tools read and write.
    public let store: any MemoryStore
    /// The namespace the tools are confined to.
    public let namespace: Namespace
    /// The agent id recorded as the author of writes.
    public let agent: String?
    /// The memory tools offered, in order.
    public let tools: [MemoryToolKind]
    /// Read-write or read-only.
    public let access: MemoryAccess
    /// Host tools offered after the memory tools.
    public let customTools: [CustomTool]
    /// The definitions for a request's `tools` array: memory tools then custom tools.
    public let toolDefinitions: [ToolDefinition]
    /// What each agent last read of each key (for the colleague-write note); share one across
    /// executors that serve the same agents.
    public let readLog: AgentReadLog
    private let clock: @Sendable () -> Date
    private let logger: Logger

    /// Binds an executor to a store, namespace, agent, tool set and access.
    ///
    /// - Parameters:
    ///   - readLog: what agents last read; pass a shared one when several executors serve the
    ///     same agent (a server's requests), else each executor has its own.
    ///   - clock: the time a turn's staged writes carry.
    ///   - logger: where each call's tool, outcome and failures are logged (nothing by default).
    public init(
        store: any MemoryStore,
        namespace: Namespace,
        agent: String? = nil,
        tools: [MemoryToolKind] = MemoryToolKind.defaultSet,
        access: MemoryAccess = .readWrite,
        customTools: [CustomTool] = [],
        readLog: AgentReadLog = AgentReadLog(),
        clock: @escaping @Sendable () -> Date = { Date() },
        logger: Logger = Logger(label: "AgentMemory.executor", factory: { _ in SwiftLogNoOpLogHandler() })
    ) {
        self.store = store
        self.namespace = namespace
        self.agent = agent
        self.tools = tools
        self.access = access
        self.customTools = customTools
        self.readLog = readLog
        self.clock = clock
        self.logger = logger
        self.toolDefinitions = MemoryToolDefinitions.definitions(for: tools) + customTools.map(\.definition)
    }

    /// Binds an executor to `namespace` under an access policy: the agent, its access to the
    /// namespace and every store call are taken from `policy` (a namespace the policy does not
    /// grant answers every call with an access error).
    public init(
        store: any MemoryStore,
        namespace: Namespace,
        policy: AccessPolicy,
        tools: [MemoryToolKind] = MemoryToolKind.defaultSet,
        customTools: [CustomTool] = [],
        readLog: AgentReadLog = AgentReadLog()
    ) {
        self.init(
            store: PolicyEnforcedStore(store, policy: policy), namespace: namespace, agent: policy.agent, tools: tools,
            access: policy.access(to: namespace) ?? .readOnly, customTools: customTools, readLog: readLog)
    }

    // MARK: - Running calls

    /// Runs the calls in order and returns one `tool_result` block per call.
    ///
    /// The `remember`, `recall` and `forget` calls of one turn are staged in one batch and
    /// committed as one transaction (one fsync): each call sees the writes of the calls before
    /// it, and a rejected call stages nothing. Other tools first commit what is staged, then
    /// run. If the commit fails (a colleague wrote one of the keys meanwhile, or a limit),
    /// nothing of it was written and its calls run again one by one, each with its own result.
    public func execute(_ toolUses: [ToolUse]) async -> [ContentBlock] {
        zip(toolUses, await outcomes(of: toolUses)).map { call, outcome in
            .toolResult(toolUseID: call.id, content: outcome.text, isError: outcome.isError)
        }
    }

    /// Runs the calls as `execute(_:)` does with an array of calls, and returns each outcome, in
    /// the calls' order, for a caller that writes the results itself (`agent-memory exec`
    /// writes them straight to JSON bytes: ``ToolResultsJSON``).
    public func outcomes(of toolUses: [ToolUse]) async -> [ToolOutcome] {
        var outcomes: [ToolOutcome] = []
        outcomes.reserveCapacity(toolUses.count)
        var staged: [ToolUse] = []
        var turn = context(turn: StagedBatch(store: store, namespace: namespace, now: clock()))
        func commitStaged() async {
            defer {
                staged.removeAll()
                turn = context(turn: StagedBatch(store: store, namespace: namespace, now: clock()))
            }
            do {
                try await turn.turn?.commit()
                await readLog.saw(turn.pendingSeen, in: namespace, agent: agent)
            } catch {
                logger.debug("turn batch not committed; running its calls one by one", metadata: ["error": "\(error)"])
                outcomes.removeLast(staged.count)
                for call in staged { outcomes.append(await run(name: call.name, input: call.input, in: context(turn: nil))) }
            }
        }
        // Each call's tool, looked up once (by name, among the enabled ones).
        let kinds = toolUses.map { enabledKind(named: $0.name) }
        if toolUses.count > 1 {
            // One read of every key the turn's staged calls name (one round trip on PostgreSQL).
            let keys = zip(toolUses, kinds).compactMap { call, kind -> MemoryKey? in
                guard kind?.handler.stagesInTurn == true, let key = call.input["key"]?.stringValue else { return nil }
                return try? MemoryKey(key)
            }
            do {
                try await turn.turn?.prefetch(keys)
            } catch {
                // Each call then reads its own key (and reports a store that fails as its error).
                logger.debug("turn prefetch failed; each call reads its own key", metadata: ["error": "\(error)"])
            }
            turn.lastSeenAtTurnStart = await readLog.versions(of: keys, in: namespace, agent: agent)
        }
        for (call, kind) in zip(toolUses, kinds) {
            if toolUses.count > 1, let kind, kind.handler.stagesInTurn {
                outcomes.append(await run(name: call.name, kind: kind, input: call.input, in: turn))
                staged.append(call)
                continue
            }
            // Needs the store as it is (a listing, a search, another tool): commit first.
            if !staged.isEmpty { await commitStaged() }
            outcomes.append(await run(name: call.name, kind: kind, input: call.input, in: context(turn: nil)))
        }
        if !staged.isEmpty { await commitStaged() }
        return outcomes
    }

    /// Runs one call and returns its `tool_result` block.
    public func execute(_ toolUse: ToolUse) async -> ContentBlock {
        let outcome = await run(name: toolUse.name, input: toolUse.input)
        return .toolResult(toolUseID: toolUse.id, content: outcome.text, isError: outcome.isError)
    }

    /// Runs the `tool_use` blocks among `blocks` and returns the user message with the results.
    public func execute(blocks: [ContentBlock]) async -> Message {
        Message(role: .user, content: await execute(blocks.compactMap(\.toolUse)))
    }

    /// Runs the tool calls of a Messages API response, an assistant message or a bare array of
    /// content blocks, given as JSON; returns the user message with the results. Throws only
    /// when the JSON has none of these shapes.
    public func execute(json: JSONValue) async throws -> Message {
        await execute(blocks: try ToolUseBlocks.contentBlocks(in: json))
    }

    /// The content blocks of a Messages API response, an assistant message or a bare array of
    /// blocks; see ``ToolUseBlocks/contentBlocks(in:)``.
    public static func contentBlocks(in json: JSONValue) throws -> [ContentBlock] {
        try ToolUseBlocks.contentBlocks(in: json)
    }

    /// Runs one call by tool name and input, straight against the store.
    public func run(name: String, input: JSONValue) async -> ToolOutcome {
        await run(name: name, input: input, in: context(turn: nil))
    }

    // MARK: - Dispatch

    private func context(turn: StagedBatch?) -> ToolContext {
        ToolContext(
            store: store, namespace: namespace, agent: agent, readOnly: access == .readOnly, readLog: readLog, clock: clock,
            turn: turn)
    }

    /// The memory tool called `name`, if it is one of the enabled tools.
    private func enabledKind(named name: String) -> MemoryToolKind? {
        guard let tool = MemoryToolKind(rawValue: name), tools.contains(tool) else { return nil }
        return tool
    }

    private func run(name: String, input: JSONValue, in context: ToolContext) async -> ToolOutcome {
        await run(name: name, kind: enabledKind(named: name), input: input, in: context)
    }

    /// Runs the call named `name`; `kind` is ``enabledKind(named:)`` of the name.
    private func run(name: String, kind: MemoryToolKind?, input: JSONValue, in context: ToolContext) async -> ToolOutcome {
        let outcome = await dispatch(name: name, kind: kind, input: input, in: context)
        logger.debug("tool call", metadata: ["tool": "\(name)", "is_error": "\(outcome.isError)"])
        return outcome
    }

    private func dispatch(name: String, kind: MemoryToolKind?, input: JSONValue, in context: ToolContext) async -> ToolOutcome {
        if let tool = kind {
            // The memory tool allows `view` in read-only mode and words its own refusals.
            if tool.writes, access == .readOnly, tool != .memory {
                return .failure("\(name) is not allowed: this agent has read-only access to namespace \"\(namespace)\"")
            }
            do {
                return try await tool.handler.run(input, in: context)
            } catch let error as ToolInputError {
                return .failure(error.message)
            } catch let error as MemoryError {
                if error.code == .storage || error.code == .unavailable {
                    logger.warning("store failure", metadata: ["tool": "\(name)", "error": "\(error.message)"])
                }
                return .failure("\(name) failed: \(error.message)")
            } catch {
                return .failure("\(name) failed: \(error)")
            }
        }
        if let custom = customTools.first(where: { $0.definition.name == name }) {
            do {
                return .success(try await custom.handler(input))
            } catch {
                return .failure(String(describing: error))
            }
        }
        let available = toolDefinitions.map(\.name).joined(separator: ", ")
        return .failure("Unknown tool \"\(name)\". The tools available are: \(available)")
    }
}

extension MemoryToolExecutor {
    /// The former name of ``ToolOutcome``.
    public typealias Outcome = ToolOutcome
}
