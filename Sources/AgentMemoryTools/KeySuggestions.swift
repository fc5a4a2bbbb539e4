import AgentMemoryCore

/// Finds the existing keys closest to a key that was not found, so a `recall` miss can tell
/// Claude what it probably meant: the store's index-backed suggestions
/// (``MemoryStore/suggestKeys(near:in:limit:)``), merged with the turn's staged writes.
enum KeySuggestions {
    /// Up to `count` keys that resemble `key` as the call sees the namespace (the store's keys,
    /// less those the turn deleted, plus those it created), closest first.
    static func closest(to key: MemoryKey, in context: ToolContext, count: Int = 5) async throws -> [String] {
        guard let written = context.turn?.writtenKeys, !written.isEmpty else {
            return try await context.store.suggestKeys(near: key, in: context.namespace, limit: count)
        }
        var created: [[UInt8]] = []
        var deleted = Set<MemoryKey>()
        for (writtenKey, exists) in written {
            if exists { created.append(Array(writtenKey.rawValue.utf8)) } else { deleted.insert(writtenKey) }
        }
        created.sort { $0.lexicographicallyPrecedes($1) }
        let stored = try await context.store.suggestKeys(near: key, in: context.namespace, limit: count + deleted.count)
            .filter { !deleted.contains(MemoryKey(checked: $0)) }
        // The same seeks over the turn's new keys, held sorted in memory.
        let staged = KeySuggestionSearch.run(near: key.rawValue, limit: count) { seek in
            var low = 0
            var high = created.count
            while low < high {
                let mid = (low + high) / 2
                if created[mid].lexicographicallyPrecedes(seek.bound) { low = mid + 1 } else { high = mid }
            }
            let range = seek.direction == .forward
                ? low..<min(created.count, low + seek.limit) : max(0, low - seek.limit)..<low
            let keys = created[range].map { String(decoding: $0, as: UTF8.self) }
            return seek.direction == .forward ? keys : keys.reversed()
        }
        return KeySuggestionSearch.rank(stored + staged, near: key.rawValue, limit: count)
    }

    /// Whether the call sees any key at all (the turn's staged writes included).
    static func namespaceHasKeys(_ context: ToolContext) async throws -> Bool {
        let written = context.turn?.writtenKeys ?? [:]
        if written.values.contains(true) { return true }
        // Only deletions are staged: a key the turn did not delete is enough.
        let page = try await context.visiblePage(prefix: nil, cursor: nil, limit: min(written.count + 1, 1_000))
        return page.records.contains { written[MemoryKey(checked: $0.key)] == nil }
    }
}
