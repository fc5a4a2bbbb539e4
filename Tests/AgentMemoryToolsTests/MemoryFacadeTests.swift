import AgentMemoryJSON
import AgentMemory
import Foundation
import Testing
import TestScratch

@Suite("Memory facade")
struct MemoryFacadeTests {
    struct Profile: Codable, Equatable {
        var name: String
        var languages: [String]
        var age: Int?
    }

    @Test func setGetDeleteKeysContainsWithCodableValues() async throws {
        let store = try SQLiteMemoryStore(path: temporaryPath())
        let memory = try await Memory("claude-agent", store: store, agent: "tester")
        try await memory.set("user.name", "Ada")
        try await memory.set("user.profile", Profile(name: "Ada", languages: ["Swift", "Rust"], age: nil))
        try await memory.set("user.visits", 3)
        try await memory.set("user.raw", ["any": [1, "json"]] as JSONValue)
        let name: String? = try await memory.get("user.name")
        #expect(name == "Ada")
        #expect(try await memory.get("user.profile", as: Profile.self) == Profile(name: "Ada", languages: ["Swift", "Rust"], age: nil))
        #expect(try await memory.get("user.visits", as: Int.self) == 3)
        #expect(try await memory.get("user.raw", as: JSONValue.self) == ["any": [1, "json"]])
        #expect(try await memory.get("missing", as: String.self) == nil)
        #expect(try await memory.contains("user.name"))
        #expect(try await memory.keys() == ["user.name", "user.profile", "user.raw", "user.visits"])
        #expect(try await memory.keys(prefix: "user.p") == ["user.profile"])
        #expect(try await memory.record("user.name")?.author == "tester")
        #expect(try await memory.delete("user.name"))
        #expect(try await memory.contains("user.name") == false)
        // A value of the wrong type is a decoding error, not a silent nil.
        await #expect(throws: DecodingError.self) { try await memory.get("user.visits", as: Profile.self) }
    }

    @Test func invalidNamespacesAreErrors() async throws {
        await #expect(throws: MemoryError.self) { try await Memory("bad namespace", store: InMemoryMemoryStore()) }
    }

    @Test func theToolExecutorSharesTheMemory() async throws {
        let memory = try await Memory("agent", store: InMemoryMemoryStore())
        try await memory.set("user.city", "Lisbon")
        let executor = memory.toolExecutor()
        let results = await executor.execute([ToolUse(id: "t1", name: "recall", input: ["key": "user.city"])])
        #expect(results.first?.toolResult?.text == "Lisbon")
    }

    func temporaryPath() -> String {
        Scratch.file("facade")
    }
}
