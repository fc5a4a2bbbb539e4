/// The in-memory store's full-text index of one namespace: each word of a value to the keys
/// whose value holds it and how often, each word of a key to the keys that hold it, and every
/// indexed word in order for prefix look-ups. The namespace calls it on every set and remove.
struct InMemorySearchIndex {
    /// Each word of a value, to the keys whose value holds it and how often.
    private var postings: [String: [ByteKey: Int]] = [:]
    /// Each word of a key, to the keys that hold it.
    private var keyPostings: [String: Set<ByteKey>] = [:]
    /// Every indexed word in order, for prefix look-ups (words whose keys are all gone stay).
    private var words: [String] = []

    private mutating func remember(word: String) {
        let position = lowerBound(of: word)
        if position == words.count || words[position] != word { words.insert(word, at: position) }
    }

    /// Indexes the words of `record`'s key and value under `key`.
    mutating func index(_ key: ByteKey, _ record: MemoryRecord) {
        var counts: [String: Int] = [:]
        for word in SearchText.terms(of: SearchText.body(of: record.value)) { counts[word, default: 0] += 1 }
        for (word, count) in counts {
            if postings[word] == nil { remember(word: word) }
            postings[word, default: [:]][key] = count
        }
        for word in Set(SearchText.terms(of: record.key)) {
            if keyPostings[word] == nil, postings[word] == nil { remember(word: word) }
            keyPostings[word, default: []].insert(key)
        }
    }

    /// Removes what ``index(_:_:)`` added for `record` under `key`.
    mutating func unindex(_ key: ByteKey, _ record: MemoryRecord) {
        for word in Set(SearchText.terms(of: SearchText.body(of: record.value))) { postings[word]?[key] = nil }
        for word in Set(SearchText.terms(of: record.key)) { keyPostings[word]?.remove(key) }
    }

    private func lowerBound(of word: String) -> Int {
        var low = 0
        var high = words.count
        while low < high {
            let mid = (low + high) / 2
            if words[mid] < word { low = mid + 1 } else { high = mid }
        }
        return low
    }

    /// Adds to `scores` what `term` (matching any word it starts, as in the other stores'
    /// prefix-insensitive stemming) is worth to each key: 3 per key word, plus the value's
    /// occurrences relative to a typical short note.
    private func score(_ term: String, into scores: inout [ByteKey: Double]) {
        var position = lowerBound(of: term)
        var matched: [ByteKey: Double] = [:]
        while position < words.count, words[position].hasPrefix(term) {
            let word = words[position]
            for key in keyPostings[word] ?? [] { matched[key, default: 0] += 3 }
            for (key, count) in postings[word] ?? [:] { matched[key, default: 0] += Double(count) }
            position += 1
        }
        for (key, value) in matched { scores[key, default: 0] += 1 + value }
    }

    /// The best `limit` keys for `query` with their scores, best first (key bytes break ties),
    /// among those `isLive` accepts.
    func search(_ query: String, limit: Int, isLive: (ByteKey) -> Bool) -> [(key: ByteKey, score: Double)] {
        let terms = SearchText.terms(of: query)
        guard !terms.isEmpty else { return [] }
        var scores: [ByteKey: Double] = [:]
        for term in Set(terms) { score(term, into: &scores) }
        // Keep the best `limit` as they come (no sort of every match).
        func ranksAbove(_ a: (key: ByteKey, score: Double), _ b: (key: ByteKey, score: Double)) -> Bool {
            a.score != b.score ? a.score > b.score : a.key < b.key
        }
        var best: [(key: ByteKey, score: Double)] = []
        for candidate in scores {
            let hit = (key: candidate.key, score: candidate.value)
            if best.count == limit, let last = best.last, !ranksAbove(hit, last) { continue }
            guard isLive(hit.key) else { continue }
            let position = best.firstIndex { ranksAbove(hit, $0) } ?? best.count
            best.insert(hit, at: position)
            if best.count > limit { best.removeLast() }
        }
        return best
    }

    /// The hit shown for `record`: a snippet of its value around the query's words, else of its key.
    static func hit(_ record: MemoryRecord, score: Double, query: String) -> SearchHit {
        let terms = SearchText.terms(of: query)
        let body = SearchText.body(of: record.value)
        let snippet = SearchText.snippet(terms: terms, text: body) ?? SearchText.snippet(terms: terms, text: record.key) ?? ""
        return SearchHit(record: record, score: score, snippet: snippet)
    }
}
