import AgentMemoryJSON
import AgentMemoryCore
import AgentMemoryTools
import Foundation
import Testing

/// Limits, read-only access, sharing keys with the other tools, and atomicity when another
/// agent writes at the same time.
@Suite struct MemoryToolConsistencyTests {
    // MARK: - Limits

    @Test func valuesOverTheStoreLimitChangeNothing() async throws {
        let memory = MemoryToolFixture(limits: MemoryLimits(maxValueBytes: 100))
        let big = String(repeating: "x", count: 200)
        #expect(await memory.fail(["command": "create", "path": "/memories/new/dir/big.txt", "file_text": .string(big)])
            == "Value for key \"/memories/new/dir/big.txt\" is 202 bytes of JSON, the limit is 100 bytes")
        #expect(try await memory.keys() == [])  // not even the parent markers

        await memory.create("/memories/small.txt", "small\n")
        let before = try await memory.records()
        #expect(await memory.fail(["command": "str_replace", "path": "/memories/small.txt", "old_str": "small", "new_str": .string(big)])
            == "Value for key \"/memories/small.txt\" is 204 bytes of JSON, the limit is 100 bytes")
        #expect(await memory.fail(["command": "insert", "path": "/memories/small.txt", "insert_line": 1, "insert_text": .string(big)])
            == "Value for key \"/memories/small.txt\" is 211 bytes of JSON, the limit is 100 bytes")
        #expect(try await memory.records() == before)
    }

    @Test func aFailedDirectoryRenameChangesNothing() async throws {
        // The moved keys would be longer than this store allows: the batch fails as a whole.
        let memory = MemoryToolFixture(limits: MemoryLimits(maxKeyBytes: 40))
        await memory.create("/memories/d/file-one.txt", "1")
        await memory.create("/memories/d/file-number-two.txt", "2")
        let before = try await memory.records()
        let result = await memory.fail(["command": "rename", "old_path": "/memories/d", "new_path": "/memories/longer-name-here"])
        #expect(result.hasPrefix("Invalid key: the key is 46 UTF-8 bytes, the limit is 40"))
        #expect(try await memory.records() == before)
    }

    // MARK: - Read-only

    @Test func readOnlyAllowsOnlyView() async throws {
        let writer = MemoryToolFixture()
        await writer.create("/memories/f.txt", "hello\n")
        let reader = writer.sibling(readOnly: true)
        let before = try await writer.records()
        #expect(await reader.ok(["command": "view", "path": "/memories/f.txt"])
            == "Here's the content of /memories/f.txt with line numbers:\n     1\thello\n     2\t")
        let writes: [(String, JSONValue)] = [
            ("create", ["command": "create", "path": "/memories/g.txt", "file_text": "x"]),
            ("str_replace", ["command": "str_replace", "path": "/memories/f.txt", "old_str": "hello", "new_str": "bye"]),
            ("insert", ["command": "insert", "path": "/memories/f.txt", "insert_line": 0, "insert_text": "x"]),
            ("delete", ["command": "delete", "path": "/memories/f.txt"]),
            ("rename", ["command": "rename", "old_path": "/memories/f.txt", "new_path": "/memories/g.txt"]),
        ]
        for (command, call) in writes {
            #expect(await reader.fail(call)
                == "Cannot \(command): this agent has read-only access to memory; only the view command is allowed")
        }
        #expect(try await writer.records() == before)
    }

    // MARK: - The same data as the other tools

    @Test func recordsWrittenByOtherToolsAreFiles() async throws {
        let memory = MemoryToolFixture()
        let namespace = MemoryToolFixture.namespace
        try await memory.store.put("/memories/from-remember.txt", value: "remembered", in: namespace)
        try await memory.store.put("/memories/prefs/theme", value: ["dark": true], in: namespace)
        try await memory.store.put("user-name", value: "outside the tree", in: namespace)
        try await memory.store.put("/memories/a//b", value: "not a normalized path", in: namespace)
        #expect(await memory.ok(["command": "view", "path": "/memories"]) == """
            Here're the files and directories up to 2 levels deep in /memories, excluding hidden items:
            4K\t/memories
            10B\t/memories/from-remember.txt
            4K\t/memories/prefs/
            13B\t/memories/prefs/theme
            """)
        #expect(await memory.ok(["command": "view", "path": "/memories/prefs/theme"])
            == "Here's the content of /memories/prefs/theme with line numbers:\n     1\t{\"dark\":true}")
        // The implicit directory /memories/prefs is kept when its last file goes.
        await memory.ok(["command": "delete", "path": "/memories/prefs/theme"])
        #expect(try await memory.store.get("/memories/prefs/", in: namespace)?.value == BuiltinMemoryTool.directoryMarkerValue)
        #expect(try await memory.store.get("user-name", in: namespace)?.value == "outside the tree")
    }

    @Test func namespacesDoNotLeak() async throws {
        let store = InMemoryMemoryStore()
        let mine = BuiltinMemoryTool(store: store, namespace: try Namespace("mine"), author: "a")
        let theirs = BuiltinMemoryTool(store: store, namespace: try Namespace("theirs"), author: "b")
        _ = await theirs.run(["command": "create", "path": "/memories/secret.txt", "file_text": "s"])
        #expect(await mine.run(["command": "view", "path": "/memories/secret.txt"]).text
            == "The path /memories/secret.txt does not exist. Please provide a valid path.")
        #expect(await mine.run(["command": "view", "path": "/memories"]).text
            == "Here're the files and directories up to 2 levels deep in /memories, excluding hidden items:\n4K\t/memories")
    }

    // MARK: - Another agent writing at the same time

    @Test func aConcurrentEditDuringADirectoryRenameIsNotLost() async throws {
        let base = InMemoryMemoryStore()
        let namespace = MemoryToolFixture.namespace
        // Just before the rename's batch, another agent edits a file inside the directory.
        let store = InterferingStore(base: base) { store in
            try await store.put("/memories/d/f.txt", value: "edited by agent-2", in: namespace, options: PutOptions(author: "agent-2"))
        }
        let memory = MemoryToolFixture(store: store)
        await memory.create("/memories/d/f.txt", "original")
        await store.arm()
        #expect(await memory.ok(["command": "rename", "old_path": "/memories/d", "new_path": "/memories/e"])
            == "Successfully renamed /memories/d to /memories/e")
        #expect(await store.interferences == 1)
        #expect(try await memory.keys() == ["/memories/e/", "/memories/e/f.txt"])
        #expect(try await memory.text("/memories/e/f.txt") == "edited by agent-2")
    }

    @Test func aConcurrentEditDuringStrReplaceIsNotLost() async throws {
        let base = InMemoryMemoryStore()
        let namespace = MemoryToolFixture.namespace
        let store = InterferingStore(base: base) { store in
            try await store.put("/memories/f.txt", value: "alpha\nbeta\ngamma\n", in: namespace)
        }
        let memory = MemoryToolFixture(store: store)
        await memory.create("/memories/f.txt", "alpha\nbeta\n")
        await store.arm()
        await memory.ok(["command": "str_replace", "path": "/memories/f.txt", "old_str": "alpha", "new_str": "ALPHA"])
        #expect(try await memory.text("/memories/f.txt") == "ALPHA\nbeta\ngamma\n")
    }

    @Test func aConcurrentWriteDuringADirectoryDeleteMakesItReread() async throws {
        let base = InMemoryMemoryStore()
        let namespace = MemoryToolFixture.namespace
        // The other agent rewrites a file of the directory between the delete's reads and its batch.
        let store = InterferingStore(base: base) { store in
            try await store.put("/memories/d/f.txt", value: "newer", in: namespace)
        }
        let memory = MemoryToolFixture(store: store)
        await memory.create("/memories/d/f.txt", "older")
        await store.arm()
        await memory.ok(["command": "delete", "path": "/memories/d"])
        // The retry saw the newer version and deleted knowingly; nothing half-done remains.
        #expect(try await memory.keys() == [])
        #expect(await store.interferences == 1)
    }

    @Test func aCommandThatKeepsConflictingGivesUpAndChangesNothing() async throws {
        let base = InMemoryMemoryStore()
        let namespace = MemoryToolFixture.namespace
        let store = InterferingStore(base: base, times: 100) { store in
            let current = try await store.get("/memories/d/f.txt", in: namespace)
            try await store.put("/memories/d/f.txt", value: .string("edit \(current?.version ?? 0)"), in: namespace)
        }
        let memory = MemoryToolFixture(store: store)
        await memory.create("/memories/d/f.txt", "v1")
        await store.arm()
        #expect(await memory.fail(["command": "rename", "old_path": "/memories/d", "new_path": "/memories/e"])
            == "Another agent kept changing /memories/d at the same time; nothing was changed. Please try again.")
        #expect(try await base.allRecords(in: namespace).map(\.key) == ["/memories/d/", "/memories/d/f.txt"])
        #expect(await store.interferences == 5)
    }

    @Test func concurrentCreatesInOneNewDirectoryAllSucceed() async throws {
        let memory = MemoryToolFixture()
        let results = await withTaskGroup(of: Bool.self) { group in
            for index in 0..<8 {
                group.addTask {
                    await memory.run(["command": "create", "path": .string("/memories/shared/f\(index).txt"), "file_text": "x"]).isError
                }
            }
            return await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(results == Array(repeating: false, count: 8))
        #expect(try await memory.keys().count == 9)
    }
}

/// A store that lets "another agent" write just before the tool's next write,
/// `times` times once armed.
actor InterferingStore: MemoryStore {
    let base: InMemoryMemoryStore
    nonisolated var limits: MemoryLimits { base.limits }
    private let interference: @Sendable (InMemoryMemoryStore) async throws -> Void
    private var remaining = 0
    private let times: Int
    private(set) var interferences = 0

    init(base: InMemoryMemoryStore, times: Int = 1, interference: @escaping @Sendable (InMemoryMemoryStore) async throws -> Void) {
        self.base = base
        self.times = times
        self.interference = interference
    }

    func arm() { remaining = times }

    private func interfere() async throws {
        guard remaining > 0 else { return }
        remaining -= 1
        interferences += 1
        try await interference(base)
    }

    func get(_ key: MemoryKey, in namespace: Namespace) async throws -> MemoryRecord? {
        try await base.get(key, in: namespace)
    }

    /// Interferes before every write (the memory tool writes through batches only).
    func apply(_ operations: [MemoryOperation], in namespace: Namespace) async throws -> [WriteOutcome] {
        try await interfere()
        return try await base.apply(operations, in: namespace)
    }

    func commit(_ plans: [WritePlan], in namespace: Namespace) async throws {
        try await interfere()
        try await base.commit(plans, in: namespace)
    }

    func changes(in namespace: Namespace, since: Int64, limit: Int) async throws -> [MemoryChange] {
        try await base.changes(in: namespace, since: since, limit: limit)
    }

    func history(of key: MemoryKey, in namespace: Namespace, limit: Int) async throws -> [MemoryChange] {
        try await base.history(of: key, in: namespace, limit: limit)
    }

    nonisolated func watch(in namespace: Namespace, since: Int64) -> AsyncThrowingStream<MemoryChange, any Error> {
        base.watch(in: namespace, since: since)
    }

    func list(in namespace: Namespace, prefix: String?, cursor: String?, limit: Int) async throws -> MemoryPage {
        try await base.list(in: namespace, prefix: prefix, cursor: cursor, limit: limit)
    }

    func search(_ query: String, in namespace: Namespace, limit: Int) async throws -> [SearchHit] {
        try await base.search(query, in: namespace, limit: limit)
    }

    func namespaces() async throws -> [NamespaceSummary] {
        try await base.namespaces()
    }
}
