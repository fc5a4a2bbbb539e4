extension MemoryStore {
    /// Ranks the first 2,000 keys of the namespace (reserved keys skipped) against `key`: the
    /// suggestions of a store that has no ordered key index to seek in.
    public func suggestKeys(near key: MemoryKey, in namespace: Namespace, limit: Int) async throws -> [String] {
        var keys: [String] = []
        var cursor: String?
        repeat {
            let page = try await list(in: namespace, prefix: nil, cursor: cursor, limit: 500)
            keys += page.records.lazy.map(\.key).filter { !ReservedKeys.isReserved($0) }
            cursor = page.nextCursor
        } while cursor != nil && keys.count < 2_000
        return KeySuggestionSearch.rank(keys, near: key.rawValue, limit: limit)
    }
}
