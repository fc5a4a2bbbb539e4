import AgentMemoryJSON
import AgentMemoryCore
import AgentMemorySQLite
import AgentMemoryTools
import Foundation

/// The zero-configuration way to keep memory: one namespace, any `Codable` values.
///
/// ```swift
/// let memory = try await Memory("claude-agent")      // the default SQLite file
/// try await memory.set("user.name", "Ada")
/// let name: String? = try await memory.get("user.name")
/// ```
public struct Memory: Sendable {
    /// The store behind this memory.
    public let store: any MemoryStore
    /// The namespace every call reads and writes.
    public let namespace: Namespace
    /// The agent id recorded as the author of writes.
    public let agent: String?

    /// Memory in `namespace` of `store`, or of the default SQLite file
    /// (`$AGENT_MEMORY_HOME/memory.sqlite`, else `~/.agent-memory/memory.sqlite`) when no store
    /// is given. With `access: .readOnly` every write throws ``MemoryError/Code/readOnly``.
    /// Throws for an invalid namespace or a file that cannot be opened.
    public init(
        _ namespace: String, store: (any MemoryStore)? = nil, agent: String? = nil, access: MemoryAccess = .readWrite
    ) async throws {
        let namespace = try Namespace(namespace)
        let base = try store ?? Memory.defaultStore()
        self.namespace = namespace
        self.store = access == .readWrite
            ? base : PolicyEnforcedStore(base, policy: AccessPolicy(agent: agent, grants: [namespace: access]))
        self.agent = agent
        self.access = access
    }

    /// Whether this memory may be changed.
    public let access: MemoryAccess

    /// Appends `value` to the list (or text) under `key` atomically; a missing key becomes a
    /// one-element list. Returns the new version.
    @discardableResult
    public func append(_ key: String, _ value: some Encodable) async throws -> Int {
        let json = try (value as? JSONValue) ?? JSONValue(encoding: value)
        return try await store.append(key, value: json, in: namespace, options: AppendOptions(author: agent)).version
    }

    /// Stores `value` (any `Encodable`, kept as JSON) under `key`, with an optional time to live.
    public func set(_ key: String, _ value: some Encodable, ttl: Duration? = nil) async throws {
        let json = try (value as? JSONValue) ?? JSONValue(encoding: value)
        try await store.put(key, value: json, in: namespace, options: PutOptions(ttl: ttl, author: agent))
    }

    /// The value under `key` decoded as `T`, or `nil` when nothing is stored there.
    public func get<T: Decodable>(_ key: String, as type: T.Type = T.self) async throws -> T? {
        guard let record = try await store.get(key, in: namespace) else { return nil }
        if let value = record.value as? T { return value }
        return try record.value.decode(as: T.self)
    }

    /// The whole record under `key` (value, version, times, author), or `nil`.
    public func record(_ key: String) async throws -> MemoryRecord? {
        try await store.get(key, in: namespace)
    }

    /// Deletes `key`; returns whether something was deleted.
    @discardableResult
    public func delete(_ key: String) async throws -> Bool {
        try await store.delete(key, in: namespace, ifVersion: nil, author: agent)
    }

    /// Every key (optionally only those starting with `prefix`), in byte order.
    public func keys(prefix: String? = nil) async throws -> [String] {
        try await store.allRecords(in: namespace, prefix: prefix).map(\.key)
    }

    /// Whether something is stored under `key`.
    public func contains(_ key: String) async throws -> Bool {
        try await store.get(key, in: namespace) != nil
    }

    /// A tool executor for Claude bound to this memory's store, namespace and agent.
    public func toolExecutor(
        tools: [MemoryToolKind] = MemoryToolKind.defaultSet, access: MemoryAccess = .readWrite,
        customTools: [CustomTool] = []
    ) -> MemoryToolExecutor {
        MemoryToolExecutor(
            store: store, namespace: namespace, agent: agent, tools: tools,
            access: self.access == .readOnly ? .readOnly : access, customTools: customTools)
    }

    private static let openStores = Locked<[String: SQLiteMemoryStore]>([:])

    /// The default SQLite store, opened once per process and shared.
    static func defaultStore() throws -> any MemoryStore {
        let path = SQLiteMemoryStore.defaultPath
        return try openStores.withLock { stores in
            if let store = stores[path] { return store }
            let store = try SQLiteMemoryStore(path: path)
            stores[path] = store
            return store
        }
    }
}
