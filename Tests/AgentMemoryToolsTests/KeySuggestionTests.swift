import AgentMemoryJSON
import AgentMemory
import Foundation
import Testing
import TestScratch

/// The suggestions of a `recall` miss come from seeks in each store's ordered key index, so
/// they reach keys anywhere in a large namespace (a scan of the first keys did not).
@Suite("Recall miss suggestions")
struct KeySuggestionTests {
    enum Backend: String, CaseIterable, Sendable {
        case memory, sqlite
    }

    let namespace = try! Namespace("agent")

    /// A store of `backend` holding 3,000 filler keys (`notes/0000` ...) that sort before the
    /// keys under test, plus `keys`.
    func makeStore(_ backend: Backend, keys: [String]) async throws -> any MemoryStore {
        let store: any MemoryStore
        switch backend {
        case .memory: store = InMemoryMemoryStore()
        case .sqlite:
            let path = Scratch.file("suggest")
            store = try SQLiteMemoryStore(path: path)
        }
        let filler = (0..<3_000).map { index in
            MemoryOperation.put(key: MemoryKey(stringLiteral: "notes/\(String(format: "%04d", index))"), value: "x")
        }
        try await store.batch(filler + keys.map { .put(key: MemoryKey(stringLiteral: $0), value: "x") }, in: namespace)
        return store
    }

    func recall(_ key: String, in store: any MemoryStore, tools: [MemoryToolKind] = MemoryToolKind.defaultSet) async -> String {
        let executor = MemoryToolExecutor(store: store, namespace: namespace, agent: "a", tools: tools)
        return await executor.run(name: "recall", input: ["key": .string(key)]).text
    }

    @Test(arguments: Backend.allCases)
    func aTypoInTheLastSegmentFindsTheKey(_ backend: Backend) async throws {
        let store = try await makeStore(backend, keys: ["prefs/theme", "prefs/language", "prefs/timezone"])
        let text = await recall("prefs/thme", in: store)
        #expect(text.hasPrefix("No memory is stored under \"prefs/thme\". Closest existing keys: \"prefs/theme\""))
        #expect(await recall("prefs/tehme", in: store).contains("Closest existing keys: \"prefs/theme\""))
        #expect(await recall("prefs/languagee", in: store).contains("Closest existing keys: \"prefs/language\""))
    }

    /// Two letters swapped is one typo, as a letter dropped is: among `user/key1` ...
    /// `user/key200` the key meant comes first, ahead of the longer keys two edits away
    /// (`user/key97` came first while a swap counted as two edits).
    @Test(arguments: Backend.allCases)
    func twoSwappedLettersFindTheKeyFirst(_ backend: Backend) async throws {
        let store = try await makeStore(backend, keys: (1...200).map { "user/key\($0)" })
        let suggested = try await store.suggestKeys(near: "user/kye7", in: namespace, limit: 3)
        #expect(suggested == ["user/key7", "user/key70", "user/key97"])
        #expect(await recall("user/kye7", in: store).hasPrefix("No memory is stored under \"user/kye7\". Closest existing keys: \"user/key7\", "))
    }

    @Test(arguments: Backend.allCases)
    func theSameNameUnderAnotherDirectoryIsFound(_ backend: Backend) async throws {
        let store = try await makeStore(backend, keys: ["work/project/deadline", "work/project/owner", "home/groceries"])
        #expect(await recall("project/deadline", in: store).contains("Closest existing keys: \"work/project/deadline\""))
        #expect(await recall("home/deadline", in: store).contains("\"work/project/deadline\""))
    }

    /// A top-level directory that no key near the miss names is found by the walk of the
    /// top-level directories, which starts from the empty bound (3,000 keys lie between the two).
    @Test(arguments: Backend.allCases)
    func aDirectoryFarAwayInKeyOrderIsWalkedTo(_ backend: Backend) async throws {
        let store = try await makeStore(backend, keys: ["alpha/deadline", "zeta/owner"])
        #expect(await recall("zeta/deadline", in: store).contains("Closest existing keys: \"alpha/deadline\""))
    }

    @Test(arguments: Backend.allCases)
    func nothingCloseSuggestsNothing(_ backend: Backend) async throws {
        let store = try await makeStore(backend, keys: ["prefs/theme", "work/project/deadline"])
        #expect(await recall("zebra", in: store) == "No memory is stored under \"zebra\", and no stored key is similar. Call list_memory to see the keys that exist.")
    }

    @Test(arguments: Backend.allCases)
    func reservedKeysAreNeverSuggested(_ backend: Backend) async throws {
        let store = try await makeStore(backend, keys: [])
        try await store.put(MemoryKey(ReservedKeys.prefix + "session"), value: "x", in: namespace)
        #expect(!(await recall("agent_memory/session", in: store)).contains(ReservedKeys.prefix))
    }

    @Test func aTurnSuggestsItsOwnWritesAndNotItsDeletions() async throws {
        let store = InMemoryMemoryStore()
        try await store.put("prefs/themes", value: "x", in: namespace)
        let executor = MemoryToolExecutor(store: store, namespace: namespace, agent: "a", tools: MemoryToolKind.everyTool)
        let results = await executor.execute([
            ToolUse(id: "t1", name: "remember", input: ["key": "prefs/theme", "value": "dark"]),
            ToolUse(id: "t2", name: "forget", input: ["key": "prefs/themes"]),
            ToolUse(id: "t3", name: "recall", input: ["key": "prefs/them"]),
        ])
        #expect(results.last?.toolResult?.text == "No memory is stored under \"prefs/them\". Closest existing keys: \"prefs/theme\". Call recall with one of them, or list_memory to see all keys.")
        // Only a deletion staged, of the only key: the memory reads as empty.
        let emptied = await executor.execute([
            ToolUse(id: "t4", name: "forget", input: ["key": "prefs/theme"]),
            ToolUse(id: "t5", name: "recall", input: ["key": "prefs/theme"]),
        ])
        #expect(emptied.last?.toolResult?.text == "No memory is stored under \"prefs/theme\". The memory is empty: nothing has been remembered yet.")
    }
}
