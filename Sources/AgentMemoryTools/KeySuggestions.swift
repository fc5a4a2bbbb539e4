import AgentMemoryCore
/// Finds the existing keys closest to a key that was not found, so a `recall` miss can tell
/// Claude what it probably meant.
enum KeySuggestions {
    /// Up to `count` keys from `candidates` that resemble `key`, closest first; keys that share
    /// nothing with it are left out.
    static func closest(to key: String, among candidates: [String], count: Int = 5) -> [String] {
        // Compared as lower-cased UTF-8 bytes: no per-call tables or Character walks.
        let target = Array(key.lowercased().utf8)
        let targetWords = Set(words(key))
        var scored: [(key: String, score: Double)] = []
        for candidate in candidates {
            let lowered = Array(candidate.lowercased().utf8)
            let distance = editDistance(target, lowered)
            let longest = max(target.count, lowered.count, 1)
            var score = 1.0 - Double(distance) / Double(longest)
            if !target.isEmpty, contains(lowered, target) || contains(target, lowered) {
                score += 0.5
            }
            let shared = targetWords.intersection(words(candidate)).count
            score += 0.3 * Double(shared)
            let similarSpelling = distance <= max(2, target.count / 3)
            if similarSpelling || shared > 0 || score >= 1.0 {
                scored.append((candidate, score))
            }
        }
        scored.sort { $0.score != $1.score ? $0.score > $1.score : $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
        return scored.prefix(count).map(\.key)
    }

    /// Whether `needle` occurs in `haystack`.
    private static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty else { return true }
        guard needle.count <= haystack.count else { return false }
        for start in 0...(haystack.count - needle.count) where haystack[start] == needle[0] {
            var offset = 1
            while offset < needle.count, haystack[start + offset] == needle[offset] { offset += 1 }
            if offset == needle.count { return true }
        }
        return false
    }

    private static func words(_ text: String) -> [String] {
        text.lowercased().split { !($0.isLetter || $0.isNumber) }.map(String.init)
    }

    /// Levenshtein distance over bytes, bounded work for long keys (compared on a 64-byte prefix).
    static func editDistance(_ a: [UInt8], _ b: [UInt8]) -> Int {
        let a = Array(a.prefix(64))
        let b = Array(b.prefix(64))
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        var current = Array(repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}
