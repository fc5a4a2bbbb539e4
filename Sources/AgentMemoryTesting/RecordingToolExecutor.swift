import AgentMemoryJSON
import ClaudeMessages
import Foundation

/// One tool call a ``RecordingToolExecutor`` saw, with the result it returned.
public struct RecordedToolCall: Sendable, Hashable {
    /// The call.
    public var call: ToolUse
    /// The `tool_result` block returned for it.
    public var result: ContentBlock
}

/// Wraps a ``ToolExecutor`` and records every call and result, for assertions in tests.
public final class RecordingToolExecutor: ToolExecutor, @unchecked Sendable {
    // `@unchecked`: `recorded` is guarded by `lock`; `wrapped` is immutable and Sendable.
    /// The executor that runs the calls.
    public let wrapped: any ToolExecutor
    private let lock = NSLock()
    private var recorded: [RecordedToolCall] = []
    private var batchSizes: [Int] = []

    /// Wraps `executor`.
    public init(_ executor: any ToolExecutor) { wrapped = executor }

    /// The wrapped executor's definitions.
    public var toolDefinitions: [ToolDefinition] { wrapped.toolDefinitions }

    /// Runs the calls through the wrapped executor and records them with their results.
    public func execute(_ toolUses: [ToolUse]) async -> [ContentBlock] {
        let results = await wrapped.execute(toolUses)
        record(toolUses, results)
        return results
    }

    private func record(_ toolUses: [ToolUse], _ results: [ContentBlock]) {
        lock.withLock {
            batchSizes.append(toolUses.count)
            for (call, result) in zip(toolUses, results) { recorded.append(RecordedToolCall(call: call, result: result)) }
        }
    }

    /// Every call so far, in order.
    public var calls: [RecordedToolCall] { lock.withLock { recorded } }

    /// How many calls each `execute` received, in order (one entry per assistant turn).
    public var batches: [Int] { lock.withLock { batchSizes } }
}
