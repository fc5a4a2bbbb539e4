/// How much an existing key resembles a key that was not found: the ranking behind the
/// suggestions of a `recall` miss (``MemoryStore/suggestKeys(near:in:limit:)``).
///
/// A candidate scores `1 - distance / longer length` (edit distance over lower-cased UTF-8
/// bytes, on a 64-byte prefix, a swap of two adjacent bytes counting as one edit), plus 0.5
/// when one contains the other, plus 0.3 per word (run of letters and digits) the two share.
/// A candidate is kept when its spelling is close (distance at most `max(2, length / 3)`), it
/// shares a word, or it scores at least 1.
package struct KeySimilarity {
    private let target: [UInt8]
    private let targetWords: Set<String>
    /// The key's distinct words as bytes, when they are ASCII and at most 64 (each then has a
    /// bit in ``sharedWords(_:lowered:)``'s mask); `nil` otherwise, and words are compared as strings.
    private let targetWordBytes: [[UInt8]]?
    /// For each byte value, the positions of the key's first 64 lower-cased bytes that hold it,
    /// as bits: the pattern of ``distance(to:)``.
    private let positions: [UInt64]

    /// A ranking of candidates against `key`.
    package init(_ key: String) {
        target = Self.lowered(key)
        targetWords = Set(Self.words(key))
        let wordBytes = targetWords.map { Array($0.utf8) }
        targetWordBytes = wordBytes.count <= 64 && wordBytes.allSatisfy({ $0.allSatisfy { $0 < 0x80 } }) ? wordBytes : nil
        var positions = [UInt64](repeating: 0, count: 256)
        for (index, byte) in target.prefix(64).enumerated() { positions[Int(byte)] |= 1 << UInt64(index) }
        self.positions = positions
    }

    /// The score of `candidate`, or `nil` when it shares nothing with the key.
    package func score(_ candidate: String) -> Double? {
        let lowered = Self.lowered(candidate)
        let distance = distance(to: lowered)
        let longest = max(target.count, lowered.count, 1)
        var score = 1.0 - Double(distance) / Double(longest)
        if !target.isEmpty, Self.contains(lowered, target) || Self.contains(target, lowered) {
            score += 0.5
        }
        let shared = targetWords.isEmpty ? 0 : sharedWords(candidate, lowered: lowered)
        score += 0.3 * Double(shared)
        let similarSpelling = distance <= max(2, target.count / 3)
        guard similarSpelling || shared > 0 || score >= 1.0 else { return nil }
        return score
    }

    /// How many distinct words `candidate` shares with the key. An ASCII candidate's words are
    /// the runs of letters and digits of its lower-cased bytes (as ``words(_:)`` splits them),
    /// matched against the key's words byte for byte, each match a bit of a mask: no string and
    /// no set made per candidate, which were a third of a suggestion's ranking.
    private func sharedWords(_ candidate: String, lowered: [UInt8]) -> Int {
        guard let targetWordBytes, lowered.count == candidate.utf8.count, lowered.allSatisfy({ $0 < 0x80 }) else {
            var shared = 0
            for word in Set(Self.words(candidate)) where targetWords.contains(word) { shared += 1 }
            return shared
        }
        var matched: UInt64 = 0
        var start = 0
        while start < lowered.count {
            guard Self.isWordByte(lowered[start]) else {
                start += 1
                continue
            }
            var end = start + 1
            while end < lowered.count, Self.isWordByte(lowered[end]) { end += 1 }
            let word = lowered[start..<end]
            for (index, bytes) in targetWordBytes.enumerated() where bytes.count == word.count && bytes.elementsEqual(word) {
                matched |= 1 << UInt64(index)
            }
            start = end
        }
        return matched.nonzeroBitCount
    }

    /// Whether `byte` (lower-cased ASCII) is a letter or a digit.
    private static func isWordByte(_ byte: UInt8) -> Bool {
        (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x30 && byte <= 0x39)
    }

    /// The edit distance between the key's and `other`'s first 64 bytes (lower-cased both),
    /// counting a swap of two adjacent bytes as one edit, like a byte left out, added or
    /// replaced (the optimal-string-alignment form of Damerau's distance): `kye` is one edit
    /// from `key`, where Levenshtein's distance counts two, so a transposed typo ranks with the
    /// other one-byte typos.
    ///
    /// Computed with Myers' bit-parallel algorithm and Hyyrö's transposition term ("A
    /// bit-vector algorithm for computing Levenshtein and Damerau edit distances", 2003): one
    /// column of the dynamic-programming table per byte of `other`, as bits of the key's
    /// positions. Several times faster than filling the table, which was the largest part of a
    /// suggestion's ranking.
    package func distance(to other: [UInt8]) -> Int {
        let length = min(target.count, 64)
        let text = other.prefix(64)
        if length == 0 { return text.count }
        if text.isEmpty { return length }
        let last: UInt64 = 1 << UInt64(length - 1)
        var vertical: (plus: UInt64, minus: UInt64) = (~0, 0)
        // The previous column's byte positions and its diagonal zeros, for the transposition.
        var previousEqual: UInt64 = 0
        var previousDiagonal: UInt64 = 0
        var distance = length
        for byte in text {
            let equal = positions[Int(byte)]
            let transposed = ((~previousDiagonal & equal) << 1) & previousEqual
            let diagonal = (((equal & vertical.plus) &+ vertical.plus) ^ vertical.plus) | equal | vertical.minus | transposed
            var plus = vertical.minus | ~(diagonal | vertical.plus)
            var minus = vertical.plus & diagonal
            if plus & last != 0 { distance += 1 } else if minus & last != 0 { distance -= 1 }
            plus = (plus << 1) | 1
            minus <<= 1
            vertical = (minus | ~(diagonal | plus), plus & diagonal)
            previousEqual = equal
            previousDiagonal = diagonal
        }
        return distance
    }

    /// Up to `limit` of `candidates` that resemble the key, best first (ties in byte order);
    /// duplicates count once. The best are kept as they come (an insertion into at most
    /// `limit` places) rather than every candidate sorted.
    package func best(_ candidates: some Sequence<String>, limit: Int) -> [String] {
        guard limit > 0 else { return [] }
        var seen = Set<MemoryKey>()
        var top: [(key: String, score: Double)] = []
        top.reserveCapacity(min(limit, 64) + 1)
        for candidate in candidates where seen.insert(MemoryKey(checked: candidate)).inserted {
            guard let score = score(candidate) else { continue }
            let entry = (key: candidate, score: score)
            if top.count == limit, let worst = top.last, !Self.ranksBefore(entry, worst) { continue }
            var index = top.count
            while index > 0, Self.ranksBefore(entry, top[index - 1]) { index -= 1 }
            top.insert(entry, at: index)
            if top.count > limit { top.removeLast() }
        }
        return top.map(\.key)
    }

    /// The ranking's order: the higher score first, ties in byte order.
    private static func ranksBefore(_ a: (key: String, score: Double), _ b: (key: String, score: Double)) -> Bool {
        a.score != b.score ? a.score > b.score : a.key.bytesPrecede(b.key)
    }

    /// ASCII letters lower-cased byte by byte; other text through `lowercased()`.
    static func lowered(_ text: String) -> [UInt8] {
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
    static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty else { return true }
        guard needle.count <= haystack.count else { return false }
        for start in 0...(haystack.count - needle.count) where haystack[start] == needle[0] {
            var offset = 1
            while offset < needle.count, haystack[start + offset] == needle[offset] { offset += 1 }
            if offset == needle.count { return true }
        }
        return false
    }
}
