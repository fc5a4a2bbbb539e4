import AgentLoop
import AgentMemory
import AgentMemoryPostgres
import Foundation

/// What a front end was told by its flags and its environment, turned into a store, a
/// namespace and an agent id the same way for the CLI and the servers.
///
/// Each value comes from the flag when given, else from its environment variable when that is
/// set and not empty, else from the default: `--store` / `AGENT_MEMORY_STORE` / the SQLite file
/// `$AGENT_MEMORY_HOME/memory.sqlite` (else `~/.agent-memory/memory.sqlite`); `--namespace` /
/// `AGENT_MEMORY_NAMESPACE` / `default`; `--agent` / `AGENT_MEMORY_AGENT` / none.
public struct RuntimeSettings: Sendable {
    /// `--store`, when given: `sqlite:PATH`, `postgres://...` or `memory:`.
    public var store: String?
    /// `--namespace`, when given.
    public var namespace: String?
    /// `--agent`, when given: the id recorded as the author of writes.
    public var agent: String?
    /// The environment read for whatever the flags leave out.
    public var environment: [String: String]

    /// The namespace used when neither the flag nor the environment names one.
    public static let defaultNamespace = "default"

    /// Creates settings from flag values (`nil` when not given) and an environment.
    public init(
        store: String? = nil, namespace: String? = nil, agent: String? = nil,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) {
        self.store = store
        self.namespace = namespace
        self.agent = agent
        self.environment = environment
    }

    /// Whether a store was named, by the flag or the environment, rather than left to the default.
    public var namesStore: Bool { store != nil || value(of: "AGENT_MEMORY_STORE") != nil }

    /// Where memory is kept. A bad location throws ``RuntimeError/Kind/invalidConfiguration``
    /// with the accepted forms and where the text came from.
    public func location() throws -> StoreLocation {
        do {
            if let store { return try StoreLocation(parsing: store) }
            return try StoreLocation.fromEnvironment(environment)
        } catch let error as MemoryError {
            throw RuntimeError(.invalidConfiguration, error.message + " (from \(store != nil ? "--store" : "AGENT_MEMORY_STORE"))")
        }
    }

    /// The namespace; an invalid name throws ``RuntimeError/Kind/invalidConfiguration`` with the rule.
    public func resolvedNamespace() throws -> Namespace {
        do {
            return try Namespace(namespace ?? value(of: "AGENT_MEMORY_NAMESPACE") ?? Self.defaultNamespace)
        } catch let error as MemoryError {
            throw RuntimeError(.invalidConfiguration, error.message)
        }
    }

    /// The agent id recorded as the author of writes, if any, as given (see ``agentID()``).
    public var resolvedAgent: String? { agent ?? value(of: "AGENT_MEMORY_AGENT") }

    /// ``resolvedAgent``, checked before anything is written: an id with a control character
    /// (which no store accepts as an author) throws ``RuntimeError/Kind/invalidConfiguration``
    /// saying where it came from.
    public func agentID() throws -> String? {
        guard let agent = resolvedAgent else { return nil }
        if let scalar = MemoryKey.firstControlCharacter(in: agent) {
            throw RuntimeError(
                .invalidConfiguration,
                "Invalid agent id: an agent id must not contain control characters (found \(MemoryKey.codePoint(scalar)))"
                    + " (from \(self.agent != nil ? "--agent" : "AGENT_MEMORY_AGENT"))")
        }
        return agent
    }

    /// The model: `explicit` when given, else `AGENT_MEMORY_MODEL`, else
    /// ``AgentLoop/AgentConfiguration/defaultModel``.
    public func model(_ explicit: String? = nil) -> String {
        explicit ?? value(of: "AGENT_MEMORY_MODEL") ?? AgentConfiguration.defaultModel
    }

    /// Opens the store at ``location()``; a store that cannot be opened throws
    /// ``RuntimeError/Kind/unavailable``. The caller closes it (or use ``withStore(limits:_:)``).
    /// `oneCommand`: the store serves one command and closes (``StoreLocation/open(limits:synchronous:oneCommand:)``).
    public func openStore(limits: MemoryLimits = .default, oneCommand: Bool = false) throws -> any MemoryStore {
        let location = try location()
        do {
            return try location.open(limits: limits, oneCommand: oneCommand)
        } catch let error as MemoryError {
            throw RuntimeError(.unavailable, error.message)
        }
    }

    /// Opens the store now and starts connecting to it in the background, when that reads and
    /// writes nothing: a PostgreSQL store (its connection and login,
    /// `PostgresMemoryStore.connectAhead()`). `nil` for the other stores, whose opening creates
    /// or reads files. For a command that reads its input before it uses the store: it passes
    /// the store to ``withStore(opened:limits:_:)``, or closes it when the input is refused. The
    /// store is opened for one command, as ``withStore(opened:limits:_:)`` opens one.
    public func openStoreConnectingAhead(limits: MemoryLimits = .default) throws -> (any MemoryStore)? {
        guard case .postgres = try location() else { return nil }
        let store = try openStore(limits: limits, oneCommand: true)
        (store as? PostgresMemoryStore)?.connectAhead()
        return store
    }

    /// Opens the store (unless `opened`, one ``openStoreConnectingAhead(limits:)`` opened, is
    /// given), runs `body` with it and closes it, also when `body` throws (then the body's error
    /// is the one thrown). The store is opened for one command (`oneCommand` of
    /// ``openStore(limits:oneCommand:)``): a PostgreSQL store then sends each statement in one
    /// round trip, without preparing it on its connection first.
    public func withStore<Result>(
        opened: (any MemoryStore)? = nil, limits: MemoryLimits = .default, _ body: (any MemoryStore) async throws -> Result
    ) async throws -> Result {
        try await Self.closing(try opened ?? openStore(limits: limits, oneCommand: true), body)
    }

    /// Runs `body` with `store` and closes the store afterwards, also when `body` throws.
    public static func closing<Result>(
        _ store: any MemoryStore, _ body: (any MemoryStore) async throws -> Result
    ) async throws -> Result {
        let result: Result
        do {
            result = try await body(store)
        } catch {
            try? await store.close()
            throw error
        }
        try await store.close()
        return result
    }

    /// An environment variable's value, or `nil` when it is unset or empty.
    private func value(of name: String) -> String? {
        guard let text = environment[name], !text.isEmpty else { return nil }
        return text
    }
}
