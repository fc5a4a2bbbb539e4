import Foundation

extension InMemoryMemoryStore {
    /// Keys that resemble `key`, from binary searches in the namespace's sorted keys (see
    /// ``KeySuggestionSearch``); expired and reserved keys are skipped.
    public func suggestKeys(near key: MemoryKey, in namespace: Namespace, limit: Int) async throws -> [String] {
        guard let space = spaces[namespace] else { return [] }
        let now = clock()
        return KeySuggestionSearch.run(near: key.rawValue, limit: limit) { seek in
            var keys: [String] = []
            var index = space.insertionIndex(of: ByteKey(bytes: seek.bound))
            if seek.direction == .backward { index -= 1 }
            while keys.count < seek.limit, index >= 0, index < space.sortedKeys.count {
                let candidate = space.sortedKeys[index]
                if let entry = space.records[candidate], !entry.record.isExpired(at: now) { keys.append(entry.record.key) }
                index += seek.direction == .forward ? 1 : -1
            }
            return keys
        }
    }
}
