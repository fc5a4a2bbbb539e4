import AgentMemoryCore
import AgentMemoryJSON
import AgentMemoryTools
import ClaudeMessages
import Foundation
import Testing

/// `ToolResultsJSON` writes the same bytes as the message of `tool_result` blocks it stands for,
/// and the executor's outcomes are the texts of its blocks.
@Suite("Tool results written as JSON bytes")
struct ToolResultsJSONTests {
    /// What the executor's `execute(blocks:)` message would be written as.
    static func viaMessage(_ uses: [ToolUse], _ outcomes: [ToolOutcome]) -> String {
        let blocks = zip(uses, outcomes).map { ContentBlock.toolResult(toolUseID: $0.id, content: $1.text, isError: $1.isError) }
        return String(decoding: Message(role: .user, content: blocks).jsonValue.jsonBytes(capacity: 64), as: UTF8.self)
    }

    static func direct(_ uses: [ToolUse], _ outcomes: [ToolOutcome], newline: Bool = false) -> String {
        String(decoding: ToolResultsJSON.message(for: uses, outcomes: outcomes, capacity: 16, newline: newline), as: UTF8.self)
    }

    @Test func theBytesAreTheMessagesOnRandomTextsWithEscapesAndErrors() {
        var generator = SystemRandomNumberGenerator()
        // Characters JSON escapes, quotes and backslashes, non-ASCII, and plain text.
        let pieces = ["plain", "\"", "\\", "\n", "\t", "\u{01}", "\u{1F}", "é", "日本", "🙂", " ", "/", "\u{7F}"]
        for round in 0..<200 {
            let count = Int.random(in: 0...6, using: &generator)
            let uses = (0..<count).map { index in
                ToolUse(id: "toolu_\(round)_\(index)" + (index % 2 == 0 ? "" : pieces.randomElement(using: &generator)!), name: "recall", input: [:])
            }
            let outcomes = (0..<count).map { _ in
                ToolOutcome(
                    text: (0..<Int.random(in: 0...8, using: &generator)).map { _ in pieces.randomElement(using: &generator)! }.joined(),
                    isError: Bool.random(using: &generator))
            }
            #expect(Self.direct(uses, outcomes) == Self.viaMessage(uses, outcomes))
            #expect(Self.direct(uses, outcomes, newline: true) == Self.viaMessage(uses, outcomes) + "\n")
        }
    }

    @Test func noCallsWriteAnEmptyContentList() {
        #expect(Self.direct([], []) == #"{"role":"user","content":[]}"#)
    }

    @Test func theExecutorsOutcomesAreItsBlocksTexts() async throws {
        let store = InMemoryMemoryStore()
        let namespace = try Namespace("results")
        let uses = [
            ToolUse(id: "a", name: "remember", input: ["key": "k", "value": "v"]),
            ToolUse(id: "b", name: "recall", input: ["key": "k"]),
            ToolUse(id: "c", name: "recall", input: ["key": "missing"]),
            ToolUse(id: "d", name: "nope", input: [:]),
        ]
        let outcomes = await MemoryToolExecutor(store: store, namespace: namespace, agent: "one").outcomes(of: uses)
        let blocks = await MemoryToolExecutor(store: InMemoryMemoryStore(), namespace: namespace, agent: "one").execute(uses)
        #expect(outcomes.map(\.text) == blocks.map { $0.json["content"]?.stringValue ?? "" })
        #expect(outcomes.map(\.isError) == [false, false, false, true])
        #expect(outcomes[1].text == "v")
        #expect(Self.direct(uses, outcomes) == String(decoding: Message(role: .user, content: blocks).jsonValue.jsonBytes(capacity: 0), as: UTF8.self))
    }
}
