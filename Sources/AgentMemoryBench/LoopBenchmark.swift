import ClaudeMessages
import AgentMemoryJSON
import AgentLoop
import AgentMemory
import AgentMemoryRuntime
import AgentMemoryTesting
import ClaudeClient
import Foundation

/// The agent loop's own cost per turn: a turn against the scripted Messages API server with a
/// ``BenchPlan/transcriptMessages``-message transcript, minus a raw HTTP round trip of the same
/// request bytes over the same transport to the same server (the time the server and the HTTP
/// stack take, which a real turn spends waiting for Claude anyway).
struct LoopBenchmark: Sendable {
    let plan: BenchPlan
    let data: BenchData

    /// Returns the raw round trip, the whole turn, and the overhead (turn minus round trip).
    func run(streaming: Bool) async throws -> [BenchMeasurement] {
        let server = try ScriptedMessagesServer()
        defer { server.stop() }
        // The scripted server's check of the conversation rules (it decodes every message of
        // every request, as the API does) is the server's time, not the loop's: off, so the
        // round trip is the HTTP stack's alone, as before that check existed.
        server.checksConversations = false
        let transport = URLSessionTransport()
        let configuration = ClaudeConfiguration(apiKey: "bench-key", baseURL: server.baseURL, maxRetries: 0)
        let client = ClaudeClient(configuration: configuration, transport: transport)
        let executor = MemoryToolExecutor(store: InMemoryMemoryStore(), namespace: try Namespace("bench-loop"))
        let loop = AgentLoop(
            client: client, executor: executor,
            configuration: AgentConfiguration(model: "bench-model", system: .text(MemoryAgent.defaultSystemPrompt), maxIterations: 2, streaming: streaming))
        let history = transcript(count: plan.transcriptMessages - 2)
        let prompt = "What do you remember about my travel plans?"
        let response = MessageResponse(
            id: "msg_bench", model: "bench-model", content: [.text("You are flying to Lisbon on Friday; I saved the hotel booking too.")],
            stopReason: .endTurn, usage: Usage(inputTokens: 12_000, outputTokens: 20))
        let scripted: ScriptedResponse = streaming ? .stream(response) : .message(response)

        // The baseline sends exactly the bytes the loop's request will have.
        var request = loop.makeRequest(history + [.user(prompt)])
        request.stream = streaming ? true : nil
        let rawRequest = TransportRequest(
            method: "POST", url: configuration.messagesURL,
            headers: [
                "x-api-key": "bench-key", "anthropic-version": configuration.anthropicVersion, "content-type": "application/json",
                "accept": streaming ? "text/event-stream" : "application/json",
            ],
            body: request.jsonValue.jsonData(), timeout: .seconds(30))

        let clock = ContinuousClock()
        var roundTrips = LatencySamples(capacity: plan.loopTurns)
        var turns = LatencySamples(capacity: plan.loopTurns)
        var turnSeconds = 0.0
        let deadline = clock.now + plan.budget
        // Warm up the connection and both code paths.
        for round in 0..<(plan.loopTurns + 3) {
            server.enqueue(scripted, scripted)
            let rawStart = clock.now
            let raw = try await transport.send(rawRequest)
            let body = try await raw.collectBody()
            let rawTime = clock.now - rawStart
            guard raw.status == 200, !body.isEmpty else { throw BenchError("bench: the scripted server answered \(raw.status)") }

            let session = AgentSession(id: "bench-\(round)")
            try await session.append(history)
            let turnStart = clock.now
            let result = try await loop.run(prompt, in: session)
            let turnTime = clock.now - turnStart
            guard result.stopReason == .endTurn, await session.messages.count == plan.transcriptMessages else {
                throw BenchError("bench: the loop turn did not end as scripted")
            }
            if round >= 3 {
                roundTrips.append(rawTime)
                turns.append(turnTime)
                turnSeconds += turnTime.seconds
            }
            if round >= 6, clock.now > deadline { break }
        }
        let mode = streaming ? "streaming" : "non-streaming"
        let baseline = roundTrips.percentile(0.5)
        let note = "\(plan.transcriptMessages)-message transcript, \(mode); µs"
        return [
            BenchMeasurement(
                name: "raw HTTP round trip (\(mode))", store: "", rate: Double(roundTrips.count) / roundTrips.totalSeconds, unit: "ops/s",
                p50: roundTrips.percentile(0.5), p99: roundTrips.percentile(0.99), count: roundTrips.count,
                note: "the same request bytes to the scripted server, same transport"),
            BenchMeasurement(
                name: "loop turn (\(mode))", store: "", rate: Double(turns.count) / turnSeconds, unit: "turns/s",
                p50: turns.percentile(0.5), p99: turns.percentile(0.99), count: turns.count, note: note),
            BenchMeasurement(
                name: "loop overhead per turn (\(mode))", store: "", rate: Double(turns.count) / turnSeconds, unit: "turns/s",
                p50: max(0, turns.percentile(0.5) - baseline), p99: max(0, turns.percentile(0.99) - baseline), count: turns.count,
                note: "loop turn minus the median raw round trip", target: BenchTargets.loopOverhead),
        ]
    }

    /// A conversation of `count` messages, user first, ending with an assistant turn; every
    /// fourth exchange has a remember call and its result.
    func transcript(count: Int) -> [Message] {
        var messages: [Message] = []
        for index in 0..<count {
            let text = (0..<3).map { data.note(index * 3 + $0).stringValue ?? "" }.joined(separator: " ")
            if index % 2 == 0 {
                if index % 8 == 2 {
                    messages.append(Message(role: .user, content: [.toolResult(toolUseID: "toolu_h\(index - 1)", content: "Remembered \"notes/\(index)\" (version 1).")]))
                } else {
                    messages.append(.user(text))
                }
            } else if index % 8 == 1, index + 1 < count {
                // A call is always answered (the API rejects a tool_use without its result).
                messages.append(Message(role: .assistant, content: [
                    .text("I'll save that."),
                    .toolUse(id: "toolu_h\(index)", name: "remember", input: ["key": .string("notes/\(index + 1)"), "value": .string(text)]),
                ]))
            } else {
                messages.append(Message(role: .assistant, text: text))
            }
        }
        return messages
    }
}

extension LatencySamples {
    var totalSeconds: Double { Double(nanoseconds.reduce(0, +)) / 1e9 }
}
