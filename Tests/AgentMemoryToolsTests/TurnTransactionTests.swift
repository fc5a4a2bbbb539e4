import AgentMemoryJSON
import AgentMemory
import Foundation
import Testing

/// A store that counts how the executor reaches it, and can let "another agent" write just
/// before the next batch, or just after a turn's read of its keys.
final class CountingStore<Base: MemoryStore>: MemoryStore {
    let base: Base
    var limits: MemoryLimits { base.limits }
    let counts = Locked<[String: Int]>([:])
    let interference = Locked<(@Sendable (Base) async throws -> Void)?>(nil)
    /// Runs once, after the next read of many keys (a turn's read).
    let afterRead = Locked<(@Sendable () async throws -> Void)?>(nil)

    init(_ base: Base) { self.base = base }

    func count(_ name: String) -> Int { counts.withLock { $0[name] ?? 0 } }
    private func note(_ name: String) { counts.withLock { $0[name, default: 0] += 1 } }

    func get(_ key: MemoryKey, in namespace: Namespace) async throws -> MemoryRecord? {
        note("get")
        return try await base.get(key, in: namespace)
    }
    func get(_ keys: [MemoryKey], in namespace: Namespace) async throws -> [MemoryKey: MemoryRecord] {
        note("get keys")
        let records = try await base.get(keys, in: namespace)
        if let then = afterRead.withLock({ value in
            defer { value = nil }
            return value
        }) {
            try await then()
        }
        return records
    }
    func apply(_ operations: [MemoryOperation], in namespace: Namespace) async throws -> [WriteOutcome] {
        note("apply")
        return try await base.apply(operations, in: namespace)
    }
    /// A turn's staged writes: "another agent" may write just before.
    func commit(_ plans: [WritePlan], in namespace: Namespace) async throws {
        note("commit")
        if let interfere = interference.withLock({ value -> (@Sendable (Base) async throws -> Void)? in
            defer { value = nil }
            return value
        }) {
            try await interfere(base)
        }
        try await base.commit(plans, in: namespace)
    }
    func streamedCommit(in namespace: Namespace) -> (any StreamedCommit)? { base.streamedCommit(in: namespace) }
    func list(in namespace: Namespace, prefix: String?, cursor: String?, limit: Int) async throws -> MemoryPage {
        note("list")
        return try await base.list(in: namespace, prefix: prefix, cursor: cursor, limit: limit)
    }
    func search(_ query: String, in namespace: Namespace, limit: Int) async throws -> [SearchHit] {
        try await base.search(query, in: namespace, limit: limit)
    }
    func namespaces() async throws -> [NamespaceSummary] { try await base.namespaces() }
    func changes(in namespace: Namespace, since: Int64, limit: Int) async throws -> [MemoryChange] {
        try await base.changes(in: namespace, since: since, limit: limit)
    }
    func history(of key: MemoryKey, in namespace: Namespace, limit: Int) async throws -> [MemoryChange] {
        try await base.history(of: key, in: namespace, limit: limit)
    }
    func watch(in namespace: Namespace, since: Int64) -> AsyncThrowingStream<MemoryChange, any Error> {
        base.watch(in: namespace, since: since)
    }
}

extension CountingStore where Base == InMemoryMemoryStore {
    convenience init() { self.init(InMemoryMemoryStore()) }
}

@Suite("One transaction per turn")
struct TurnTransactionTests {
    let namespace = try! Namespace("agent")

    func calls(_ inputs: [(String, JSONValue)]) -> [ToolUse] {
        inputs.enumerated().map { ToolUse(id: "toolu_\($0.offset)", name: $0.element.0, input: $0.element.1) }
    }

    func texts(_ blocks: [ContentBlock]) -> [String] {
        blocks.map { ($0.toolResult!.isError ? "[error] " : "") + $0.toolResult!.text }
    }

    @Test func aTurnOfWritesIsOneBatchAndCallsSeeEachOther() async throws {
        let store = CountingStore()
        let executor = MemoryToolExecutor(store: store, namespace: namespace, agent: "me", tools: MemoryToolKind.everyTool)
        let results = await executor.execute(calls([
            ("remember", ["key": "a", "value": "1"]),
            ("recall", ["key": "a"]),
            ("remember", ["key": "a", "value": "2"]),
            ("remember", ["key": "list", "value": "x", "mode": "append"]),
            ("remember", ["key": "list", "value": "y", "mode": "append"]),
            ("remember", ["key": "bad"]),
            ("forget", ["key": "a"]),
            ("recall", ["key": "list"]),
            ("remember", ["key": "b", "value": "3", "ttl_seconds": 60]),
        ]))
        #expect(texts(results) == [
            "Remembered \"a\" (version 1).",
            "1",
            "Updated \"a\" (version 2).",
            "Appended to \"list\" (version 1); the list has 1 item.",
            "Appended to \"list\" (version 2); the list has 2 items.",
            "[error] Invalid input for remember: missing required field \"value\" (a string)",
            "Forgot \"a\".",
            #"["x","y"]"#,
            "Remembered \"b\" (version 1). It expires in 60 seconds.",
        ])
        #expect(results.map(\.toolResult!.toolUseID) == (0..<9).map { "toolu_\($0)" })
        #expect(store.count("commit") == 1)
        #expect(store.count("apply") == 0)
        #expect(try await store.base.get("a", in: namespace) == nil)
        #expect(try await store.base.get("list", in: namespace)?.value == ["x", "y"])
        #expect(try await store.base.get("b", in: namespace)?.expiresAt != nil)
        let log = try await store.base.changes(in: namespace, since: 0, limit: 20)
        #expect(log.map(\.operation) == [.put, .put, .append, .append, .delete, .put])
        #expect(log.allSatisfy { $0.author == "me" })
    }

    @Test func listingsAndSearchesSeeTheTurnsEarlierWrites() async throws {
        let store = CountingStore()
        let executor = MemoryToolExecutor(store: store, namespace: namespace, tools: MemoryToolKind.everyTool)
        let results = await executor.execute(calls([
            ("remember", ["key": "k1", "value": "alpha"]),
            ("list_memory", [:]),
            ("remember", ["key": "k2", "value": "beta"]),
            ("recall", ["key": "k3"]),
            ("search_memory", ["query": "beta"]),
        ]))
        #expect(texts(results) == [
            "Remembered \"k1\" (version 1).",
            "k1: alpha",
            "Remembered \"k2\" (version 1).",
            "No memory is stored under \"k3\". Closest existing keys: \"k1\", \"k2\". Call recall with one of them, or list_memory to see all keys.",
            // k1 holds no query word: it comes as k2's neighbour in a numbered sequence (ContextRanking).
            "k2: [beta]\nk1: alpha",
        ])
        #expect(store.count("commit") == 2)
    }

    @Test func aColleaguesWriteDuringTheTurnSendsTheCallsThroughOneByOne() async throws {
        let store = CountingStore()
        try await store.base.put("shared", value: "original", in: namespace, options: PutOptions(author: "bob"))
        let executor = MemoryToolExecutor(store: store, namespace: namespace, agent: "alice", tools: MemoryToolKind.everyTool)
        _ = await executor.execute([ToolUse(id: "r", name: "recall", input: ["key": "shared"])])
        store.interference.withLock { value in
            value = { base in
                _ = try await base.put("shared", value: "bob's update", in: try Namespace("agent"), options: PutOptions(author: "bob"))
            }
        }
        let results = await executor.execute(calls([
            ("remember", ["key": "shared", "value": "alice's update"]),
            ("remember", ["key": "other", "value": "x"]),
        ]))
        // The batch conflicted on "shared" and wrote nothing; the calls then ran one by one.
        #expect(texts(results) == [
            "Updated \"shared\" (version 3). Note: \"bob\" wrote this key (version 2, \(MemoryToolExecutorTestTime.now)) after you last read it; your write replaced that value. Recall shared keys before updating them, or use mode \"append\".",
            "Remembered \"other\" (version 1).",
        ])
        #expect(try await store.base.get("shared", in: namespace)?.value == "alice's update")
        #expect(try await store.base.history(of: "shared", in: namespace, limit: 10).map(\.author) == ["bob", "bob", "alice"])
    }

    @Test func aBatchRefusedByALimitGivesEachCallItsOwnResult() async throws {
        let store = CountingStore(InMemoryMemoryStore(limits: MemoryLimits(maxValueBytes: 20)))
        let executor = MemoryToolExecutor(store: store, namespace: namespace, tools: MemoryToolKind.everyTool)
        let results = await executor.execute(calls([
            ("remember", ["key": "a", "value": "small"]),
            ("remember", ["key": "b", "value": .string(String(repeating: "x", count: 40))]),
            ("remember", ["key": "c", "value": "small"]),
        ]))
        #expect(texts(results) == [
            "Remembered \"a\" (version 1).",
            "[error] remember failed: Value for key \"b\" is 42 bytes of JSON, the limit is 20 bytes",
            "Remembered \"c\" (version 1).",
        ])
        #expect(try await store.base.allRecords(in: namespace).map(\.key) == ["a", "c"])
    }
}

enum MemoryToolExecutorTestTime {
    /// The minute as the executor prints it, for a write made during the test.
    static var now: String {
        let text = MemoryRecord.formatDate(Date())
        return String(text.prefix(10)) + " " + String(text.dropFirst(11).prefix(5)) + " UTC"
    }
}
