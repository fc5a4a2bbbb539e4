import AgentMemoryJSON
import AgentMemory
import Foundation
import Testing
import TestScratch

/// A turn of many memory calls on SQLite streams its writes to the store while the executor
/// plans the rest (``StreamedCommit``): each call's result, the records and the change log are
/// those of the in-memory store, which commits the turn's plans together; a listing in the
/// middle of the turn sees the writes before it; a colleague's write that the turn's read
/// missed sends the turn's calls through one by one, as on any store.
@Suite("Streamed turns on SQLite")
struct StreamedTurnTests {
    let namespace = try! Namespace("agent")
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    /// 700 calls: new keys, a recall of a key written earlier in the turn, appends to one
    /// key, forgets of keys written in the turn, a call with no value, and updates of keys
    /// written 200 calls before.
    static func calls() -> [ToolUse] {
        (0..<700).map { index -> ToolUse in
            let input: JSONValue
            let name: String
            switch index % 10 {
            case 2: (name, input) = ("recall", ["key": .string("note/\(index - 2)")])
            case 4: (name, input) = ("remember", ["key": "log", "value": .string("entry \(index)"), "mode": "append"])
            case 6: (name, input) = ("forget", ["key": .string("note/\(index - 6)")])
            case 8: (name, input) = ("remember", ["key": .string("note/\(index)")])
            default:
                let key = index >= 200 ? "note/\(index - 200)" : "note/\(index)"
                (name, input) = ("remember", ["key": .string(key), "value": .string("value \(index)")])
            }
            return ToolUse(id: "toolu_\(index)", name: name, input: input)
        }
    }

    static func texts(_ outcomes: [ToolOutcome]) -> [String] {
        outcomes.map { ($0.isError ? "[error] " : "") + $0.text }
    }

    /// The namespace's records and change log, as text.
    func contents(_ store: any MemoryStore) async throws -> [String] {
        let records = try await store.allRecords(in: namespace).map { "\($0.key) v\($0.version) \($0.value.jsonString())" }
        let log = try await store.changes(in: namespace, since: 0, limit: 2_000).map {
            "\($0.sequence) \($0.operation.rawValue) \($0.key) v\($0.version) \($0.author ?? "-")"
        }
        return records + log
    }

    @Test func aStreamedTurnGivesTheResultsAndStateOfATurnCommittedTogether() async throws {
        let sqlite = try SQLiteMemoryStore(path: Scratch.file("streamed-turn"), clock: { Self.now })
        let memory = InMemoryMemoryStore(clock: { Self.now })
        var results: [[String]] = []
        for store in [sqlite, memory] as [any MemoryStore] {
            let executor = MemoryToolExecutor(
                store: store, namespace: namespace, agent: "me", tools: MemoryToolKind.everyTool, clock: { Self.now })
            results.append(Self.texts(await executor.outcomes(of: Self.calls())))
        }
        #expect(results[0] == results[1])
        #expect(results[0][2] == "value 0")
        #expect(results[0][8].hasPrefix("[error] "))
        #expect(results[0][201] == "Updated \"note/1\" (version 2).")
        #expect(try await contents(sqlite) == (try await contents(memory)))
        #expect(try await sqlite.get("log", in: namespace)?.version == 70)
        try await sqlite.close()
    }

    /// A listing commits the writes staged before it (ending the stream) and sees them; the
    /// calls after it stream again.
    @Test func aListingInTheMiddleOfAStreamedTurnSeesTheWritesBeforeIt() async throws {
        let store = try SQLiteMemoryStore(path: Scratch.file("streamed-turn-list"))
        let executor = MemoryToolExecutor(store: store, namespace: namespace, agent: "me", tools: MemoryToolKind.everyTool)
        var calls = (0..<300).map { ToolUse(id: "a\($0)", name: "remember", input: ["key": .string("a/\($0)"), "value": "x"]) }
        calls.append(ToolUse(id: "list", name: "list_memory", input: ["prefix": "a/2", "limit": 100]))
        calls += (0..<300).map { ToolUse(id: "b\($0)", name: "remember", input: ["key": .string("b/\($0)"), "value": "y"]) }
        let outcomes = await executor.outcomes(of: calls)
        #expect(outcomes.allSatisfy { !$0.isError })
        // "a/2", "a/20" ... "a/29", "a/200" ... "a/299": 111 keys, the first 100 of them listed.
        #expect(outcomes[300].text.split(separator: "\n").filter { $0.hasPrefix("a/2") }.count == 100)
        #expect(outcomes[300].text.contains("a/299") == false)
        #expect(outcomes[300].text.contains("a/2: x"))
        #expect(try await store.allRecords(in: namespace, prefix: "b/").count == 300)
        #expect(try await store.changes(in: namespace, since: 0, limit: 1_000).count == 600)
        try await store.close()
    }

    @Test func aColleaguesWriteTheTurnMissedSendsAStreamedTurnThroughOneByOne() async throws {
        let path = Scratch.file("streamed-turn-colleague")
        let base = try SQLiteMemoryStore(path: path)
        try await base.put("shared", value: "original", in: namespace, options: PutOptions(author: "bob"))
        let store = CountingStore(base)
        store.afterRead.withLock { value in
            value = {
                // Another process writes "shared" after the turn read it.
                let colleague = try SQLiteMemoryStore(path: path)
                _ = try await colleague.put("shared", value: "bob's update", in: try Namespace("agent"), options: PutOptions(author: "bob"))
                try await colleague.close()
            }
        }
        let executor = MemoryToolExecutor(store: store, namespace: namespace, agent: "alice", tools: MemoryToolKind.everyTool)
        var calls = (0..<300).map { ToolUse(id: "n\($0)", name: "remember", input: ["key": .string("n/\($0)"), "value": "x"]) }
        calls.append(ToolUse(id: "shared", name: "remember", input: ["key": "shared", "value": "alice's update"]))
        let outcomes = await executor.outcomes(of: calls)
        #expect(outcomes.allSatisfy { !$0.isError })
        #expect(outcomes[300].text.hasPrefix("Updated \"shared\" (version 3). Note: \"bob\" wrote this key (version 2"))
        #expect(try await base.get("shared", in: namespace)?.value == "alice's update")
        #expect(try await base.history(of: "shared", in: namespace, limit: 10).map(\.author) == ["bob", "bob", "alice"])
        #expect(try await base.allRecords(in: namespace, prefix: "n/").count == 300)
        #expect(store.count("commit") == 0)  // streamed, then one by one
        try await base.close()
    }
}
