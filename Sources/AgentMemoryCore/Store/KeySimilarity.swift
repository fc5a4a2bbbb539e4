/// How much an existing key resembles a key that was not found: the ranking behind the
/// suggestions of a `recall` miss (``MemoryStore/suggestKeys(near:in:limit:)``).
///
/// A candidate scores `1 - distance / longer length` (Levenshtein distance over lower-cased
/// UTF-8 bytes, on a 64-byte prefix), plus 0.5 when one contains the other, plus 0.3 per word
/// (run of letters and digits) the two share. A candidate is kept when its spelling is close
/// (distance at most `max(2, length / 3)`), it shares a word, or it scores at least 1.
package struct KeySimilarity {
    private let target: [UInt8]
    private let targetWords: Set<String>

    /// A ranking of candidates against `key`.
    package init(_ key: String) {
        target = Self.lowered(key)
        targetWords = Set(Self.words(key))
    }

    /// The score of `candidate`, or `nil` when it shares nothing with the key.
    package func score(_ candidate: String) -> Double? {
        let lowered = Self.lowered(candidate)
        let distance = Self.editDistance(target, lowered)
        let longest = max(target.count, lowered.count, 1)
        var score = 1.0 - Double(distance) / Double(longest)
        if !target.isEmpty, Self.contains(lowered, target) || Self.contains(target, lowered) {
            score += 0.5
        }
        var shared = 0
        if !targetWords.isEmpty {
            for word in Set(Self.words(candidate)) where targetWords.contains(word) { shared += 1 }
        }
        score += 0.3 * Double(shared)
        let similarSpelling = distance <= max(2, target.count / 3)
        guard similarSpelling || shared > 0 || score >= 1.0 else { return nil }
        return score
    }

    /// Up to `limit` of `candidates` that resemble the key, best first (ties in byte order);
    /// duplicates count once.
    package func best(_ candidates: some Sequence<String>, limit: Int) -> [String] {
        var seen = Set<MemoryKey>()
        var scored: [(key: String, score: Double)] = []
        for candidate in candidates where seen.insert(MemoryKey(checked: candidate)).inserted {
            if let score = score(candidate) { scored.append((candidate, score)) }
        }
        scored.sort { $0.score != $1.score ? $0.score > $1.score : $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
        return scored.prefix(max(0, limit)).map(\.key)
    }

    /// ASCII letters lower-cased byte by byte; other text through `lowercased()`.
    private static func lowered(_ text: String) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            if byte >= 0x80 { return Array(text.lowercased().utf8) }
            bytes.append(byte >= 0x41 && byte <= 0x5A ? byte + 0x20 : byte)
        }
        return bytes
    }

    /// The runs of letters and digits of `text`, lower-cased. ASCII text is split byte by byte
    /// (there only A-Z, a-z and 0-9 are letters or digits, and lower-casing changes A-Z alone):
    /// the same words as the `Character` split, which cost a Unicode property lookup a
    /// character and was most of a suggestion's ranking.
    static func words(_ text: String) -> [String] {
        var words: [String] = []
        var start: Int?
        var lowered: [UInt8] = []
        lowered.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            if byte >= 0x80 { return unicodeWords(text) }
            let isUpper = byte >= 0x41 && byte <= 0x5A
            if isUpper || (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x30 && byte <= 0x39) {
                if start == nil { start = lowered.count }
                lowered.append(isUpper ? byte + 0x20 : byte)
            } else if let first = start {
                words.append(String(decoding: lowered[first...], as: UTF8.self))
                start = nil
            }
        }
        if let first = start { words.append(String(decoding: lowered[first...], as: UTF8.self)) }
        return words
    }

    /// ``words(_:)`` for any text: split between `Character`s that are neither letters nor numbers.
    static func unicodeWords(_ text: String) -> [String] {
        text.lowercased().split { !($0.isLetter || $0.isNumber) }.map(String.init)
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

    /// Levenshtein distance over bytes, bounded work for long keys (compared on a 64-byte
    /// prefix), in two rows on the stack.
    package static func editDistance(_ a: [UInt8], _ b: [UInt8]) -> Int {
        let a = a.prefix(64)
        let b = b.prefix(64)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        return withUnsafeTemporaryAllocation(of: Int.self, capacity: 2 * (b.count + 1)) { rows in
            var previous = rows.baseAddress!
            var current = previous + (b.count + 1)
            for j in 0...b.count { previous[j] = j }
            for (i, byteA) in a.enumerated() {
                current[0] = i + 1
                for (j, byteB) in b.enumerated() {
                    let cost = byteA == byteB ? 0 : 1
                    current[j + 1] = min(previous[j + 1] + 1, current[j] + 1, previous[j] + cost)
                }
                swap(&previous, &current)
            }
            return previous[b.count]
        }
    }
}
