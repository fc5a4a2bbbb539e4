import AgentMemoryJSON
import AgentMemoryTesting
import ClaudeClient
import ClaudeMessages
import InMemoryLogging
import Logging
import Testing

/// The client logs what a host needs to see (retries, failures) and never the API key.
@Suite("Client logging")
struct ClientLoggingTests {
    @Test func retriesAreLoggedWithoutTheAPIKey() async throws {
        let server = try ScriptedMessagesServer()
        server.enqueue(
            .error(status: 500, type: "api_error", message: "echo sk-log-secret-key"),
            .error(status: 401, type: "authentication_error", message: "bad key sk-log-secret-key"))
        var handler = InMemoryLogHandler()
        handler.logLevel = .trace
        let logger = Logger(label: "test", factory: { _ in handler })
        let sleeps = SleepRecorder()
        let client = ClaudeClient(
            configuration: ClaudeConfiguration(apiKey: "sk-log-secret-key", baseURL: server.baseURL),
            retryTiming: sleeps.timing, logger: logger)
        await #expect(throws: ClaudeAPIError.self) { try await client.createMessage(simpleRequest) }
        let lines = handler.entries.map { entry in
            "\(entry.message) " + entry.metadata.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: " ")
        }
        #expect(handler.entries.map(\.message.description) == ["retrying", "request failed"])
        #expect(lines.allSatisfy { !$0.contains("sk-log-secret-key") })
        #expect(lines[0].contains("retry=1"))
        #expect(lines[1].contains("[redacted]"))
    }
}
