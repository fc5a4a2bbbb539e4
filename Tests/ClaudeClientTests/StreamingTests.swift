import ClaudeMessages
import AgentMemoryJSON
import AgentMemoryTesting
import ClaudeClient
import Foundation
import Testing

@Suite("Streaming")
struct StreamingTests {
    /// A response with every kind of streamed block.
    static let richResponse = MessageResponse(
        id: "msg_stream", model: "claude-test",
        content: [
            ContentBlock(json: ["type": "thinking", "thinking": "Let me think about ünïcode…", "signature": "EqQBCgIYAhIM1gbcDa9GJwZA2b3h"]),
            ContentBlock(json: ["type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix/LafPsn4a"]),
            ContentBlock(json: [
                "citations": [["type": "char_location", "cited_text": "a", "document_index": 0, "start_char_index": 0, "end_char_index": 1]],
                "type": "text", "text": "Hello, world! 👋",
            ]),
            .toolUse(id: "toolu_1", name: "remember", input: ["key": "k", "value": ["nested": [1, 2.5, "x", nil, true]]]),
            .toolUse(id: "toolu_2", name: "list_memory", input: [:]),
            ContentBlock(json: ["type": "hologram", "payload": ["z": 1, "a": 2]]),
        ],
        stopReason: .toolUse,
        usage: Usage(inputTokens: 20, outputTokens: 40, cacheCreationInputTokens: 5, cacheReadInputTokens: 100))

    @Test("a stream assembles into the same response as a non-streamed call")
    func assemblesSameResponse() async throws {
        let server = try ScriptedMessagesServer()
        server.enqueue(.stream(Self.richResponse), .message(Self.richResponse))
        let client = makeClient(server)
        let collector = EventCollector()
        let streamed = try await client.streamMessage(simpleRequest) { collector.add($0) }
        let plain = try await client.createMessage(simpleRequest)
        #expect(streamed == plain)
        #expect(streamed.jsonValue.jsonString() == Self.richResponse.jsonValue.jsonString())
        #expect(plain.jsonValue.jsonString() == Self.richResponse.jsonValue.jsonString())
        #expect(collector.text == "Hello, world! 👋")
        #expect(collector.events.contains(.thinkingDelta(index: 0, thinking: "Let me think about ünïcode…".prefix(9).description)))
        #expect(collector.events.filter { if case .contentBlockCompleted = $0 { true } else { false } }.count == 6)
        #expect(server.requests[0].json?["stream"] == true)
        #expect(server.requests[0].headers["accept"] == "text/event-stream")
        #expect(server.requests[1].json?["stream"] == nil)
    }

    /// A stream of `text` whose first text delta is followed by `pings` keep-alive events,
    /// `interval` apart, before the rest: five minutes by default, long enough that a test's next
    /// step lands mid-stream however slow a busy host makes it (the server stops writing when the
    /// client goes away).
    static func slowStream(_ text: String, pings: Int = 1_500, interval: Duration = .milliseconds(200)) throws -> ScriptedResponse {
        var events = ScriptedResponse.streamEvents(for: textResponse(text))
        let firstDelta = try #require(events.firstIndex { $0.event == "content_block_delta" })
        events.insert(contentsOf: Array(repeating: ScriptedEvent(event: "ping", data: #"{"type":"ping"}"#), count: pings), at: firstDelta + 1)
        return .events(events, interval: interval)
    }

    @Test("text deltas reach the caller as they arrive, before the stream ends")
    func deltasArriveEarly() async throws {
        let words = "One two three four five six"
        let server = try ScriptedMessagesServer()
        server.enqueue(try Self.slowStream(words))
        let collector = EventCollector()
        let client = makeClient(server)
        let task = Task { try await client.streamMessage(simpleRequest) { collector.add($0) } }
        let deadline = ContinuousClock.now + .seconds(120)
        while collector.text.isEmpty, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        let early = collector.text
        #expect(!early.isEmpty)
        task.cancel()
        _ = try? await task.value
        #expect(early != words)
        #expect(words.hasPrefix(early))
    }

    @Test("a connection dropped mid-stream after text was delivered is an error, not retried")
    func droppedMidStream() async throws {
        let server = try ScriptedMessagesServer()
        let events = ScriptedResponse.streamEvents(for: textResponse("partial answer here"))
        let firstDelta = try #require(events.firstIndex { $0.event == "content_block_delta" })
        server.enqueue(.events(events, cutAfter: firstDelta + 1), .stream(textResponse("never")))
        let collector = EventCollector()
        let error = await #expect(throws: ClaudeAPIError.self) {
            try await makeClient(server).streamMessage(simpleRequest) { collector.add($0) }
        }
        #expect(error?.kind == .streamInterrupted)
        #expect(error?.message.contains("not retried") == true)
        #expect(!collector.text.isEmpty)
        #expect(server.requests.count == 1)
    }

    @Test("a stream cut before anything was delivered is retried")
    func cutBeforeDeliveryRetried() async throws {
        let server = try ScriptedMessagesServer()
        server.enqueue(.stream(textResponse("first try"), cutAfter: 2), .stream(textResponse("second try")))
        let collector = EventCollector()
        let response = try await makeClient(server).streamMessage(simpleRequest) { collector.add($0) }
        #expect(response.text == "second try")
        #expect(collector.text == "second try")
        #expect(server.requests.count == 2)
    }

    @Test("an error event is a typed error; ping and unknown events are ignored")
    func errorAndUnknownEvents() async throws {
        let server = try ScriptedMessagesServer()
        var events = ScriptedResponse.streamEvents(for: textResponse("fine"))
        events.insert(ScriptedEvent(event: "future_event", data: #"{"type":"future_event","x":1}"#), at: 2)
        server.enqueue(.events(events))
        server.enqueue(.events([
            ScriptedEvent(event: "ping", data: #"{"type":"ping"}"#),
            ScriptedEvent(event: "error", data: #"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#),
        ]))
        let client = makeClient(server)
        #expect(try await client.streamMessage(simpleRequest).text == "fine")
        let error = await #expect(throws: ClaudeAPIError.self) { try await client.streamMessage(simpleRequest) }
        #expect(error?.errorType == "overloaded_error")
        #expect(error?.message == "Overloaded")
    }

    @Test("an HTTP error on a streamed call is the same typed error")
    func httpErrorOnStream() async throws {
        let server = try ScriptedMessagesServer()
        server.enqueue(
            .error(status: 529, type: "overloaded_error", message: "Overloaded", headers: [("retry-after-ms", "5")]),
            .stream(textResponse("ok")))
        let sleeps = SleepRecorder()
        #expect(try await makeClient(server, sleeps: sleeps).streamMessage(simpleRequest).text == "ok")
        #expect(sleeps.sleeps == [.milliseconds(5)])
    }

    @Test("SSE parsing: CRLF, CR, split chunks, comments, multi-line data")
    func sseParser() {
        var parser = ServerSentEventParser()
        var events: [ServerSentEvent] = []
        let text = ": comment\r\nevent: a\r\ndata: 1\r\n\r\nevent:b\rdata: x\rdata: y\r\revent: c\n\ndata: z\n\n"
        for byte in Array(text.utf8) { events += parser.feed([byte]) }
        #expect(events == [
            ServerSentEvent(event: "a", data: "1"), ServerSentEvent(event: "b", data: "x\ny"),
            ServerSentEvent(event: "message", data: "z"),
        ])
    }

    @Test("cancelling a streamed call stops it")
    func cancellation() async throws {
        let text = String(repeating: "slow ", count: 40)
        let server = try ScriptedMessagesServer()
        server.enqueue(try Self.slowStream(text))
        // The idle timeout is longer than any stall a loaded parallel run has shown: with 10 s, CI
        // once saw no data reach the client for 10 s (at the start of the full run, when the quick
        // tests of this suite took 40-70 s to be scheduled), and the timeout, not the cancel, ended
        // the call. Should an attempt hang before it reaches the server, the retry still comes,
        // after this timeout. Stretched by AGENT_MEMORY_TEST_TIME_SCALE for the sanitizer runs.
        let client = makeClient(server, timeout: TestTimeScale.scaled(.seconds(120)))
        let collector = EventCollector()
        let task = Task { try await client.streamMessage(simpleRequest) { collector.add($0) } }
        // Cancelled mid-stream: once the first text has arrived, while the pings keep it open.
        let deadline = ContinuousClock.now + TestTimeScale.scaled(.seconds(300))
        while collector.text.isEmpty, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        #expect(!collector.text.isEmpty)
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
        #expect(collector.text != text)
    }
}
