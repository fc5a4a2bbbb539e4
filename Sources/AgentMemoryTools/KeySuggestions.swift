import AgentMemoryCore
/// Finds the existing keys closest to a key that was not found, so a `recall` miss can tell
/// Claude what it probably meant.
enum KeySuggestions {
    /// Up to `count` keys from `candidates` that resemble `key`, closest first; keys that share
    /// nothing with it are left out.
    static func closest(to key: String, among candidates: [String], count: Int = 5) -> [String] {
        let target = Array(key.lowercased())
        let targetWords = Set(words(key))
        var scored: [(key: String, score: Double)] = []
        for candidate in candidates {
            let lowered = Array(candidate.lowercased())
            let distance = editDistance(target, lowered)
            let longest = max(target.count, lowered.count, 1)
            var score = 1.0 - Double(distance) / Double(longest)
            let candidateText = String(lowered)
            let targetText = String(target)
            if !targetText.isEmpty, candidateText.contains(targetText) || targetText.contains(candidateText) {
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

    private static func words(_ text: String) -> [String] {
        text.lowercased().split { !($0.isLetter || $0.isNumber) }.map(String.init)
    }

    /// Levenshtein distance, bounded work for long keys (they are compared on a 64-character prefix).
    static func editDistance(_ a: [Character], _ b: [Character]) -> Int {
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
