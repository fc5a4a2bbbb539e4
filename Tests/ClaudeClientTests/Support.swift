import ClaudeMessages
import AgentMemoryJSON
import AgentMemoryTesting
import ClaudeClient
import Foundation
import Testing

/// Records the waits a client asks for instead of sleeping.
final class SleepRecorder: @unchecked Sendable {
    private let lock = NSLock()
    private var recorded: [Duration] = []

    var sleeps: [Duration] {
        lock.lock()
        defer { lock.unlock() }
        return recorded
    }

    private func record(_ duration: Duration) {
        lock.withLock { recorded.append(duration) }
    }

    var timing: RetryTiming {
        RetryTiming(
            sleep: { [self] duration in record(duration) },
            jitter: { 1.0 })
    }
}

/// A client pointed at `server`, with recorded (instant) retry sleeps.
func makeClient(
    _ server: ScriptedMessagesServer, sleeps: SleepRecorder = SleepRecorder(), apiKey: String? = "sk-test-secret-key",
    maxRetries: Int = 2, timeout: Duration = .seconds(30), betas: [String] = []
) -> ClaudeClient {
    ClaudeClient(
        configuration: ClaudeConfiguration(
            apiKey: apiKey, baseURL: server.baseURL, betas: betas, maxRetries: maxRetries, timeout: timeout),
        retryTiming: sleeps.timing)
}

let simpleRequest = MessageRequest(model: "claude-test", maxTokens: 256, messages: [.user("Hello")])

func textResponse(_ text: String, id: String = "msg_1") -> MessageResponse {
    MessageResponse(
        id: id, model: "claude-test", content: [.text(text)], stopReason: .endTurn,
        usage: Usage(inputTokens: 10, outputTokens: 5))
}

/// Collects stream events from a `@Sendable` callback.
final class EventCollector: @unchecked Sendable {
    private let lock = NSLock()
    private var collected: [MessageStreamEvent] = []

    func add(_ event: MessageStreamEvent) {
        lock.lock()
        collected.append(event)
        lock.unlock()
    }

    var events: [MessageStreamEvent] {
        lock.lock()
        defer { lock.unlock() }
        return collected
    }

    var text: String {
        events.compactMap { if case .textDelta(_, let text) = $0 { return text } else { return nil } }.joined()
    }
}
