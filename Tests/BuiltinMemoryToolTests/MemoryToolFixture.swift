import AgentMemoryJSON
import AgentMemoryCore
import AgentMemoryTools
import Testing

/// A memory tool over a fresh in-memory store, with helpers that check the error flag.
struct MemoryToolFixture {
    static let namespace = try! Namespace("memtool-tests")
    static let author = "agent-1"

    let store: any MemoryStore
    let tool: BuiltinMemoryTool

    init(limits: MemoryLimits = .default, readOnly: Bool = false) {
        self.init(store: InMemoryMemoryStore(limits: limits), readOnly: readOnly)
    }

    init(store: any MemoryStore, readOnly: Bool = false) {
        self.store = store
        tool = BuiltinMemoryTool(store: store, namespace: Self.namespace, author: Self.author, readOnly: readOnly)
    }

    /// The same store seen by another tool (another agent, or read-only).
    func sibling(readOnly: Bool) -> MemoryToolFixture {
        MemoryToolFixture(store: store, readOnly: readOnly)
    }

    func run(_ input: JSONValue) async -> (text: String, isError: Bool) {
        await tool.run(input)
    }

    /// Runs a call that must succeed and returns its text.
    @discardableResult
    func ok(_ input: JSONValue, sourceLocation: SourceLocation = #_sourceLocation) async -> String {
        let result = await tool.run(input)
        #expect(!result.isError, "unexpected error: \(result.text)", sourceLocation: sourceLocation)
        return result.text
    }

    /// Runs a call that must fail and returns its message.
    func fail(_ input: JSONValue, sourceLocation: SourceLocation = #_sourceLocation) async -> String {
        let result = await tool.run(input)
        #expect(result.isError, "expected an error, got: \(result.text)", sourceLocation: sourceLocation)
        return result.text
    }

    func create(_ path: String, _ text: String, sourceLocation: SourceLocation = #_sourceLocation) async {
        await ok(["command": "create", "path": .string(path), "file_text": .string(text)], sourceLocation: sourceLocation)
    }

    /// Every record of the namespace, by key.
    func records() async throws -> [String: MemoryRecord] {
        Dictionary(uniqueKeysWithValues: try await store.allRecords(in: Self.namespace).map { ($0.key, $0) })
    }

    /// Every key of the namespace, in byte order.
    func keys() async throws -> [String] {
        try await store.allRecords(in: Self.namespace).map(\.key)
    }

    /// A file's text as stored.
    func text(_ key: String) async throws -> String? {
        try await store.get(key, in: Self.namespace)?.value.stringValue
    }
}
