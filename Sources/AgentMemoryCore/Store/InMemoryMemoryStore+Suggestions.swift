import Foundation

extension InMemoryMemoryStore {
    /// Keys that resemble `key`, from binary searches in the namespace's sorted keys (see
    /// ``KeySuggestionSearch``); expired and reserved keys are skipped.
    public func suggestKeys(near key: MemoryKey, in namespace: Namespace, limit: Int) async throws -> [String] {
        guard let space = spaces[namespace] else { return [] }
        let now = clock()
        let sorted = space.sortedKeys
        return KeySuggestionSearch.run(near: key.rawValue, limit: limit) { seek in
            var keys: [String] = []
            let bound = sorted.lowerBound(ByteKey(bytes: seek.bound))
            var position = seek.direction == .forward ? bound : sorted.before(bound)
            while keys.count < seek.limit, let current = position, let candidate = sorted[current] {
                if let entry = space.records[candidate], !entry.record.isExpired(at: now) { keys.append(entry.record.key) }
                position = seek.direction == .forward ? sorted.after(current) : sorted.before(current)
            }
            return keys
        }
    }
}
