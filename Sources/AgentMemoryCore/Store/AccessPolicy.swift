import AgentMemoryJSON

/// Whether an agent may change a namespace or only read it.
public enum MemoryAccess: String, Sendable, Hashable {
    /// Reads and writes.
    case readWrite = "read-write"
    /// Reads only; writes are refused with ``MemoryError/Code/readOnly``.
    case readOnly = "read-only"
}

/// Which namespaces an agent may read and write: for crews where each agent writes its own
/// namespace and reads a shared one, or writes the shared one too.
public struct AccessPolicy: Sendable, Hashable {
    /// The agent the policy is for (recorded as the author of its writes).
    public var agent: String?
    /// Access per namespace.
    public var grants: [Namespace: MemoryAccess]
    /// Access to namespaces not in ``grants``; `nil` denies them.
    public var otherNamespaces: MemoryAccess?

    /// Creates a policy; by default only the granted namespaces are reachable.
    public init(agent: String?, grants: [Namespace: MemoryAccess], otherNamespaces: MemoryAccess? = nil) {
        self.agent = agent
        self.grants = grants
        self.otherNamespaces = otherNamespaces
    }

    /// The access to `namespace`, or `nil` when the agent may not use it at all.
    public func access(to namespace: Namespace) -> MemoryAccess? {
        grants[namespace] ?? otherNamespaces
    }

    /// Throws unless the agent may read `namespace`.
    public func checkRead(_ namespace: Namespace) throws {
        guard access(to: namespace) != nil else {
            throw MemoryError(.accessDenied, "\(agentName) has no access to namespace \"\(namespace)\"")
        }
    }

    /// Throws unless the agent may write `namespace`.
    public func checkWrite(_ namespace: Namespace) throws {
        switch access(to: namespace) {
        case .readWrite: return
        case .readOnly:
            throw MemoryError(.readOnly, "\(agentName) has read-only access to namespace \"\(namespace)\"; writes are refused")
        case nil:
            throw MemoryError(.accessDenied, "\(agentName) has no access to namespace \"\(namespace)\"")
        }
    }

    private var agentName: String { agent.map { "Agent \"\($0)\"" } ?? "This agent" }
}

/// A store that enforces an ``AccessPolicy`` in front of another store: reads need access,
/// writes need read-write access, and every write is recorded under the policy's agent.
public struct PolicyEnforcedStore: MemoryStore {
    /// The store behind the policy.
    public let base: any MemoryStore
    /// The policy enforced.
    public let policy: AccessPolicy

    /// The wrapped store's limits.
    public var limits: MemoryLimits { base.limits }

    /// Closes the wrapped store.
    public func close() async throws { try await base.close() }

    /// Wraps `base` so that every call is checked against `policy`.
    public init(_ base: any MemoryStore, policy: AccessPolicy) {
        self.base = base
        self.policy = policy
    }

    /// Reads if the policy allows.
    public func get(_ key: MemoryKey, in namespace: Namespace) async throws -> MemoryRecord? {
        try policy.checkRead(namespace)
        return try await base.get(key, in: namespace)
    }

    /// Reads several keys if the policy allows.
    public func get(_ keys: [MemoryKey], in namespace: Namespace) async throws -> [MemoryKey: MemoryRecord] {
        try policy.checkRead(namespace)
        return try await base.get(keys, in: namespace)
    }

    /// Writes if the policy allows, every write attributed to the policy's agent.
    public func apply(_ operations: [MemoryOperation], in namespace: Namespace) async throws -> [WriteOutcome] {
        try policy.checkWrite(namespace)
        guard let agent = policy.agent else { return try await base.apply(operations, in: namespace) }
        let attributed: [MemoryOperation] = operations.map { operation in
            switch operation {
            case .put(let key, let value, var options):
                options.author = agent
                return .put(key: key, value: value, options: options)
            case .delete(let key, let ifVersion, _):
                return .delete(key: key, ifVersion: ifVersion, author: agent)
            case .append(let key, let value, var options):
                options.author = agent
                return .append(key: key, value: value, options: options)
            }
        }
        return try await base.apply(attributed, in: namespace)
    }

    /// Commits staged writes if the policy allows writing and every one is attributed to the
    /// policy's agent.
    public func commit(_ plans: [WritePlan], in namespace: Namespace) async throws {
        try policy.checkWrite(namespace)
        if let agent = policy.agent, let other = plans.first(where: { $0.change.map { $0.author != agent } ?? false }) {
            throw MemoryError(
                .accessDenied, "A staged write of \"\(other.key)\" is not attributed to agent \"\(agent)\", which this store's policy requires")
        }
        try await base.commit(plans, in: namespace)
    }

    /// Lists if the policy allows.
    public func list(in namespace: Namespace, prefix: String?, cursor: String?, limit: Int) async throws -> MemoryPage {
        try policy.checkRead(namespace)
        return try await base.list(in: namespace, prefix: prefix, cursor: cursor, limit: limit)
    }

    /// Suggests keys if the policy allows reading.
    public func suggestKeys(near key: MemoryKey, in namespace: Namespace, limit: Int) async throws -> [String] {
        try policy.checkRead(namespace)
        return try await base.suggestKeys(near: key, in: namespace, limit: limit)
    }

    /// Searches if the policy allows.
    public func search(_ query: String, in namespace: Namespace, limit: Int) async throws -> [SearchHit] {
        try policy.checkRead(namespace)
        return try await base.search(query, in: namespace, limit: limit)
    }

    /// The namespaces the agent may read.
    public func namespaces() async throws -> [NamespaceSummary] {
        try await base.namespaces().filter { policy.access(to: $0.namespace) != nil }
    }

    /// Reads the change log if the policy allows.
    public func changes(in namespace: Namespace, since: Int64, limit: Int) async throws -> [MemoryChange] {
        try policy.checkRead(namespace)
        return try await base.changes(in: namespace, since: since, limit: limit)
    }

    /// Reads a key's history if the policy allows.
    public func history(of key: MemoryKey, in namespace: Namespace, limit: Int) async throws -> [MemoryChange] {
        try policy.checkRead(namespace)
        return try await base.history(of: key, in: namespace, limit: limit)
    }

    /// Watches if the policy allows (else the stream fails at once).
    public func watch(in namespace: Namespace, since: Int64) -> AsyncThrowingStream<MemoryChange, any Error> {
        do {
            try policy.checkRead(namespace)
        } catch {
            return AsyncThrowingStream { $0.finish(throwing: error) }
        }
        return base.watch(in: namespace, since: since)
    }
}
