import AgentMemoryCore

/// What each agent last read or wrote of each key, per namespace.
///
/// `remember` uses it to tell Claude when a colleague wrote a key after this agent last read
/// it. It is keyed by namespace and agent, not by executor, so a server can share one log
/// across its requests (pass it to every ``MemoryToolExecutor`` it makes); it lives in memory
/// and keeps at most `maxKeys` keys per agent and namespace: past that, it forgets the half
/// of them it saw longest ago (which only means a possible missed note for those).
public actor AgentReadLog {
    private struct Scope: Hashable {
        let namespace: Namespace
        let agent: String?
    }

    /// A version seen, and when (the log's count of sightings at the time).
    private struct Seen {
        let version: Int
        let order: UInt64
    }

    private var versions: [Scope: [MemoryKey: Seen]] = [:]
    private var sightings: UInt64 = 0
    private let maxKeys: Int

    /// Creates an empty log that keeps at most `maxKeys` keys per agent and namespace.
    public init(maxKeys: Int = 10_000) {
        self.maxKeys = max(1, maxKeys)
    }

    /// The version of `key` that `agent` last read or wrote in `namespace`, or `nil`.
    public func version(of key: MemoryKey, in namespace: Namespace, agent: String?) -> Int? {
        versions[Scope(namespace: namespace, agent: agent)]?[key]?.version
    }

    /// The versions of `keys` that `agent` last read or wrote in `namespace` (keys it has not
    /// seen are absent): a turn's look-ups in one call.
    public func versions(of keys: [MemoryKey], in namespace: Namespace, agent: String?) -> [MemoryKey: Int] {
        guard let known = versions[Scope(namespace: namespace, agent: agent)] else { return [:] }
        var found: [MemoryKey: Int] = [:]
        for key in keys { if let seen = known[key] { found[key] = seen.version } }
        return found
    }

    /// Records that `agent` read or wrote these versions in `namespace`.
    public func saw(_ seen: [(key: MemoryKey, version: Int)], in namespace: Namespace, agent: String?) {
        guard !seen.isEmpty else { return }
        let scope = Scope(namespace: namespace, agent: agent)
        var known = versions.removeValue(forKey: scope) ?? [:]
        // Grown once, not doubling step by step while a turn of many calls is noted.
        known.reserveCapacity(known.count + seen.count)
        for (key, version) in seen {
            sightings += 1
            known[key] = Seen(version: version, order: sightings)
        }
        if known.count > maxKeys {
            // Keeps the half seen most recently (a dictionary's own order is arbitrary).
            let kept = known.sorted { $0.value.order > $1.value.order }.prefix((maxKeys + 1) / 2)
            known = Dictionary(uniqueKeysWithValues: kept.map { ($0.key, $0.value) })
        }
        versions[scope] = known
    }
}
