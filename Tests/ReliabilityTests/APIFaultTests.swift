import ClaudeMessages
import AgentMemoryJSON
import AgentLoop
import AgentMemory
import AgentMemoryTesting
import ClaudeClient
import Foundation
import Testing
import TestScratch

/// Records the client's retry sleeps instead of sleeping.
final class RecordedSleeps: Sendable {
    private let recorded = Locked<[Duration]>([])
    var sleeps: [Duration] { recorded.withLock { $0 } }
    var timing: RetryTiming {
        RetryTiming(sleep: { duration in self.recorded.withLock { $0.append(duration) } }, jitter: { 1 })
    }
}

let secretKey = "sk-ant-reliability-SECRET-0123456789"

func faultClient(_ server: ScriptedMessagesServer, sleeps: RecordedSleeps = RecordedSleeps(), timeout: Duration = .seconds(30), baseURL: URL? = nil) -> ClaudeClient {
    ClaudeClient(
        configuration: ClaudeConfiguration(apiKey: secretKey, baseURL: baseURL ?? server.baseURL, maxRetries: 2, timeout: timeout),
        retryTiming: sleeps.timing)
}

func reply(_ text: String, stop: StopReason = .endTurn) -> MessageResponse {
    MessageResponse(id: "msg_\(UUID().uuidString.prefix(8))", model: "claude-test", content: [.text(text)], stopReason: stop, usage: Usage(inputTokens: 3, outputTokens: 2))
}

let faultRequest = MessageRequest(model: "claude-test", maxTokens: 64, messages: [.user("Hello")])

@Suite("API faults against the scripted server")
struct APIFaultTests {
    static let statuses = [429, 529, 500, 503]

    @Test("429, 529, 500 and 503 with retry-after-ms: retried after exactly that wait, then success", arguments: statuses)
    func retriedWithHeader(status: Int) async throws {
        let server = try ScriptedMessagesServer()
        defer { server.stop() }
        server.enqueue(.error(status: status, type: "overloaded_error", message: "busy", headers: [("retry-after-ms", "250")]), .message(reply("ok")))
        let sleeps = RecordedSleeps()
        let response = try await faultClient(server, sleeps: sleeps).createMessage(faultRequest)
        #expect(response.text == "ok")
        #expect(sleeps.sleeps == [.milliseconds(250)])
        #expect(server.requests.count == 2)
    }

    @Test("the same statuses without headers: two retries with 0.5 s and 1 s backoff, then a typed error", arguments: statuses)
    func exhaustedWithoutHeader(status: Int) async throws {
        let server = try ScriptedMessagesServer()
        defer { server.stop() }
        for _ in 0..<3 { server.enqueue(.error(status: status, type: "api_error", message: "failure \(status)", requestID: "req_\(status)")) }
        let sleeps = RecordedSleeps()
        let error = await #expect(throws: ClaudeAPIError.self) { try await faultClient(server, sleeps: sleeps).createMessage(faultRequest) }
        #expect(error?.kind == .api)
        #expect(error?.status == status)
        #expect(error?.message == "failure \(status)")
        #expect(error?.requestID == "req_\(status)")
        #expect(sleeps.sleeps == [.milliseconds(500), .milliseconds(1000)])
        #expect(server.requests.count == 3)
    }

    @Test("a refused connection is a connection error after the retries")
    func refused() async throws {
        let server = try ScriptedMessagesServer()
        server.stop()
        // A port held by a socket that is bound but not listening: connections to it are
        // refused, and no other test's server can take it meanwhile (one did, once, with the
        // port of a stopped server, and answered with an API error).
        let held = try HeldPort()
        defer { held.release() }
        let url = try #require(URL(string: "http://127.0.0.1:\(held.port)"))
        let sleeps = RecordedSleeps()
        let error = await #expect(throws: ClaudeAPIError.self) { try await faultClient(server, sleeps: sleeps, baseURL: url).createMessage(faultRequest) }
        #expect(error?.kind == .connection)
        #expect(sleeps.sleeps.count == 2)
        #expect(!String(describing: error).contains(secretKey))
    }

    @Test("a server that never answers: a timeout error after the retries")
    func hanging() async throws {
        let server = try ScriptedMessagesServer()
        defer { server.stop() }
        for _ in 0..<3 { server.enqueue(ScriptedResponse.message(reply("late")).delayed(by: .seconds(30))) }
        let sleeps = RecordedSleeps()
        let error = await #expect(throws: ClaudeAPIError.self) {
            try await faultClient(server, sleeps: sleeps, timeout: .milliseconds(300)).createMessage(faultRequest)
        }
        #expect(error?.kind == .timeout)
        // Two retries, then the error. Counted by the client's backoff sleeps: on a loaded
        // machine an attempt can time out before its request reaches the server.
        #expect(sleeps.sleeps.count == 2)
        #expect((1...3).contains(server.requests.count))
    }

    /// The client's timeouts once waited on Dispatch's global queue, which runs a few items at
    /// a time on Linux: in a process that kept it busy (a loaded test run, as CI saw), the late
    /// answer arrived before the timeout fired. The child blocks that queue's threads for 6 s
    /// while the first answer comes 4 s late and the timeout is 1 s (in a process of its own:
    /// a starved global queue also stalls Swift's tasks).
    @Test("a timeout fires on time in a process whose global Dispatch queue is held busy")
    func timeoutWithTheGlobalQueueBusy() async throws {
        let child = try Child.start(["timeout", "memory:", "default"])
        defer { child.removeOutput() }
        try await child.wait()
        #expect(child.process.terminationStatus == 0, "\(child.errors)")
        #expect(child.lines == ["answer in time after 2 requests"])
    }

    @Test("malformed JSON in a 200: an invalid-response error, not retried")
    func malformed() async throws {
        let server = try ScriptedMessagesServer()
        defer { server.stop() }
        server.enqueue(.raw(status: 200, headers: [("content-type", "application/json")], body: Array("{\"id\": \"msg_1\", \"content\": [".utf8)))
        let error = await #expect(throws: ClaudeAPIError.self) { try await faultClient(server).createMessage(faultRequest) }
        #expect(error?.kind == .invalidResponse)
        #expect(server.requests.count == 1)
    }

    @Test("a 20 MB response arrives whole, streamed or not", arguments: [false, true])
    func huge(streaming: Bool) async throws {
        let server = try ScriptedMessagesServer()
        defer { server.stop() }
        let text = String(repeating: "0123456789abcdef", count: 20 * 1024 * 1024 / 16)
        server.enqueue(streaming ? .stream(reply(text)) : .message(reply(text)))
        let response = try await faultClient(server).send(faultRequest, streaming: streaming, onEvent: nil)
        #expect(response.text.utf8.count == 20 * 1024 * 1024)
        #expect(response.text == text)
    }

    @Test(
        "a stream cut mid-message in an agent loop: a typed error, not retried once text arrived; the transcript has no partial turn and resumes",
        arguments: [false, true])
    func streamCutKeepsTranscript(showingText: Bool) async throws {
        let server = try ScriptedMessagesServer()
        defer { server.stop() }
        let store = InMemoryMemoryStore()
        let namespace = try Namespace("faults")
        let sessions = MemoryStoreSessionStore(store: store, namespace: namespace)
        let toolTurn = MessageResponse(
            id: "msg_tools", model: "claude-test",
            content: [.text("Saving."), .toolUse(id: "toolu_1", name: "remember", input: ["key": "tea", "value": "green"])],
            stopReason: .toolUse, usage: Usage(inputTokens: 5, outputTokens: 5))
        // The first turn arrives; every later attempt is cut right after its first text delta.
        let events = ScriptedResponse.streamEvents(for: reply("A long answer that is cut."))
        let firstDelta = try #require(events.firstIndex { $0.event == "content_block_delta" })
        server.enqueue(.stream(toolTurn))
        for _ in 0..<3 { server.enqueue(.events(events, cutAfter: firstDelta + 1)) }
        // With or without a caller printing the text as it arrives.
        let hooks = showingText ? AgentHooks(streamEvent: { _ in }) : AgentHooks()
        let loop = AgentLoop(
            client: faultClient(server), executor: MemoryToolExecutor(store: store, namespace: namespace),
            configuration: AgentConfiguration(model: "claude-test", streaming: true), hooks: hooks)
        let session = try await AgentSession.open(id: "cut", store: sessions)
        let error = await #expect(throws: ClaudeAPIError.self) { try await loop.run("Remember my tea.", in: session) }
        #expect(error?.kind == .streamInterrupted)
        #expect(server.requests.count == 2)
        let saved = try #require(try await sessions.load("cut"))
        #expect(saved.messages.map(\.role) == [.user, .assistant, .user])
        #expect(saved.messages[2].blocks.compactMap(\.toolResult).map(\.toolUseID) == ["toolu_1"])
        #expect(try await store.get("tea", in: namespace)?.value == "green")
        let resumeServer = try ScriptedMessagesServer()
        defer { resumeServer.stop() }
        resumeServer.enqueue(.stream(reply("Noted: green tea.")))
        let resumedLoop = AgentLoop(
            client: faultClient(resumeServer), executor: MemoryToolExecutor(store: store, namespace: namespace),
            configuration: AgentConfiguration(model: "claude-test", streaming: true))
        let resumed = try await resumedLoop.resume(try await AgentSession.open(id: "cut", store: sessions))
        #expect(resumed.text == "Noted: green tea.")
        #expect(try await sessions.load("cut")?.messages.count == 4)
    }
}

/// A TCP port on 127.0.0.1 bound by a socket that never listens: connecting to it is refused.
struct HeldPort {
    let descriptor: Int32
    let port: UInt16

    init() throws {
        let held = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard held >= 0 else { throw HeldPortError(step: "socket") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { generic in
                bind(held, generic, length) == 0 && getsockname(held, generic, &length) == 0
            }
        }
        guard bound else {
            close(held)
            throw HeldPortError(step: "bind")
        }
        descriptor = held
        port = UInt16(bigEndian: address.sin_port)
    }

    func release() {
        close(descriptor)
    }
}

struct HeldPortError: Error {
    let step: String
}
