import AgentMemoryCore

/// What each agent last read or wrote of each key, per namespace.
///
/// `remember` uses it to tell Claude when a colleague wrote a key after this agent last read
/// it. It is keyed by namespace and agent, not by executor, so a server can share one log
/// across its requests (pass it to every ``MemoryToolExecutor`` it makes); it lives in memory
/// and keeps at most `maxKeys` keys per agent and namespace (the oldest half is dropped past
/// that, which only means a possible missed note).
public actor AgentReadLog {
    private struct Scope: Hashable {
        let namespace: Namespace
        let agent: String?
    }

    private var versions: [Scope: [MemoryKey: Int]] = [:]
    private let maxKeys: Int

    /// Creates an empty log that keeps at most `maxKeys` keys per agent and namespace.
    public init(maxKeys: Int = 10_000) {
        self.maxKeys = max(1, maxKeys)
    }

    /// The version of `key` that `agent` last read or wrote in `namespace`, or `nil`.
    public func version(of key: MemoryKey, in namespace: Namespace, agent: String?) -> Int? {
        versions[Scope(namespace: namespace, agent: agent)]?[key]
    }

    /// The versions of `keys` that `agent` last read or wrote in `namespace` (keys it has not
    /// seen are absent): a turn's look-ups in one call.
    public func versions(of keys: [MemoryKey], in namespace: Namespace, agent: String?) -> [MemoryKey: Int] {
        guard let known = versions[Scope(namespace: namespace, agent: agent)] else { return [:] }
        var found: [MemoryKey: Int] = [:]
        for key in keys { if let version = known[key] { found[key] = version } }
        return found
    }

    /// Records that `agent` read or wrote these versions in `namespace`.
    public func saw(_ seen: [(key: MemoryKey, version: Int)], in namespace: Namespace, agent: String?) {
        guard !seen.isEmpty else { return }
        let scope = Scope(namespace: namespace, agent: agent)
        var known = versions.removeValue(forKey: scope) ?? [:]
        for (key, version) in seen { known[key] = version }
        if known.count > maxKeys { known = Dictionary(uniqueKeysWithValues: known.prefix(maxKeys / 2).map { ($0.key, $0.value) }) }
        versions[scope] = known
    }
}
