@testable import AgentMemoryCore
import Testing

@Suite("Key similarity")
struct KeySimilarityTests {
    /// The byte-by-byte split of ASCII keys gives exactly the words of the `Character` split it
    /// replaced (letters and digits, lower-cased), on random ASCII text with every byte kind:
    /// capitals, separators, control characters and `\r\n`, which is one `Character`.
    @Test func asciiWordsAreTheCharacterSplitsWords() {
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("aZ0m9Q/._-: \t\r\n\u{7F}\u{01}!~[`{@".utf8)
        for _ in 0..<2_000 {
            let length = Int.random(in: 0...24, using: &generator)
            let bytes = (0..<length).map { _ in alphabet.randomElement(using: &generator)! }
            let text = String(decoding: bytes, as: UTF8.self)
            #expect(KeySimilarity.words(text) == KeySimilarity.unicodeWords(text), "\(Array(text.utf8))")
        }
        #expect(KeySimilarity.words("Prefs/Theme-2:DARK") == ["prefs", "theme", "2", "dark"])
        #expect(KeySimilarity.words("") == [])
        #expect(KeySimilarity.words("//") == [])
    }

    /// Text with any byte beyond ASCII is split by `Character`, so letters of other scripts stay
    /// in their words.
    @Test func otherScriptsAreSplitByCharacter() {
        #expect(KeySimilarity.words("Café/Ünïcode_名前") == ["café", "ünïcode", "名前"])
    }

    /// The ranking the suggestions use: a one-byte typo ranks above a shared word alone, and a
    /// key sharing nothing is left out.
    @Test func closerKeysRankFirst() {
        let ranked = KeySimilarity("prefs/thme").best(["work/theme", "prefs/theme", "zebra"], limit: 5)
        #expect(ranked == ["prefs/theme"])
        let shared = KeySimilarity("project/deadline").best(["notes/deadline", "work/project/deadline", "zebra"], limit: 5)
        #expect(shared == ["work/project/deadline", "notes/deadline"])
        // Two letters swapped is one typo: the key meant ranks above a longer key two edits away.
        let swapped = KeySimilarity("user/kye7").best(["user/key97", "user/key7", "user/key1"], limit: 3)
        #expect(swapped == ["user/key7", "user/key97", "user/key1"])
    }

    /// Random keys shaped like real ones: directories, words, digits, capitals, typos, and now
    /// and then a non-ASCII letter (both normal forms) or a key past 64 bytes.
    static func randomKey(_ generator: inout some RandomNumberGenerator) -> String {
        let pieces = ["note", "Note", "notes", "user", "project", "deadline", "theme", "0", "1", "42", "00017",
                      "/", "/", ".", ":", "-", "_", " ", "caf\u{E9}", "cafe\u{301}", "\u{1F600}", "K", "\u{212A}", "x", "q"]
        let count = Int.random(in: 1...(Int.random(in: 0..<20, using: &generator) == 0 ? 30 : 6), using: &generator)
        return (0..<count).map { _ in pieces.randomElement(using: &generator)! }.joined()
    }

    /// The dynamic-programming table of the distance: edits over bytes, on 64-byte prefixes,
    /// a swap of two adjacent bytes counting as one edit (optimal string alignment).
    static func tableDistance(_ a: [UInt8], _ b: [UInt8]) -> Int {
        let a = Array(a.prefix(64))
        let b = Array(b.prefix(64))
        var table = [[Int]](repeating: Array(repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { table[i][0] = i }
        for j in 0...b.count { table[0][j] = j }
        for i in a.indices {
            for j in b.indices {
                var best = min(table[i][j + 1] + 1, table[i + 1][j] + 1, table[i][j] + (a[i] == b[j] ? 0 : 1))
                if i > 0, j > 0, a[i] == b[j - 1], a[i - 1] == b[j] { best = min(best, table[i - 1][j - 1] + 1) }
                table[i + 1][j + 1] = best
            }
        }
        return table[a.count][b.count]
    }

    /// The score as it was computed before: the table's distance and the candidate's words as
    /// a set of strings.
    static func referenceScore(_ key: String, _ candidate: String) -> Double? {
        let target = KeySimilarity.lowered(key)
        let lowered = KeySimilarity.lowered(candidate)
        let distance = tableDistance(target, lowered)
        var score = 1.0 - Double(distance) / Double(max(target.count, lowered.count, 1))
        if !target.isEmpty, KeySimilarity.contains(lowered, target) || KeySimilarity.contains(target, lowered) { score += 0.5 }
        let targetWords = Set(KeySimilarity.words(key))
        let shared = Set(KeySimilarity.words(candidate)).filter { targetWords.contains($0) }.count
        score += 0.3 * Double(shared)
        guard distance <= max(2, target.count / 3) || shared > 0 || score >= 1.0 else { return nil }
        return score
    }

    /// The bit-parallel distance equals the table's on random byte strings of every length up
    /// to past the 64-byte prefix (a small alphabet, so swaps of adjacent bytes are frequent),
    /// and each score equals the one computed from the table.
    @Test func theBitParallelDistanceAndTheScoresAreTheTables() {
        var generator = SystemRandomNumberGenerator()
        let alphabet: [UInt8] = [0x61, 0x62, 0x63, 0x2F, 0x30, 0xC3, 0xA9]
        for _ in 0..<3_000 {
            let a = (0..<Int.random(in: 0...80, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! }
            let b = (0..<Int.random(in: 0...80, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! }
            let key = String(decoding: a, as: UTF8.self)
            let similarity = KeySimilarity(key)
            let target = KeySimilarity.lowered(key)
            #expect(similarity.distance(to: b) == Self.tableDistance(target, b), "\(target) \(b)")
        }
        #expect(KeySimilarity("kitten").distance(to: Array("sitting".utf8)) == 3)
        #expect(KeySimilarity("").distance(to: Array("abc".utf8)) == 3)
        #expect(KeySimilarity("abc").distance(to: []) == 3)
        #expect(KeySimilarity("key").distance(to: Array("kye".utf8)) == 1)
        #expect(KeySimilarity("abcd").distance(to: Array("badc".utf8)) == 2)
        #expect(KeySimilarity("ca").distance(to: Array("abc".utf8)) == 3)  // no edit of a swapped pair
        for _ in 0..<3_000 {
            let key = Self.randomKey(&generator)
            let candidate = Self.randomKey(&generator)
            #expect(KeySimilarity(key).score(candidate) == Self.referenceScore(key, candidate), "\(key) \(candidate)")
        }
    }

    /// The best candidates kept as they come are the first entries of every candidate scored
    /// and sorted (the ranking before), duplicates (by bytes) counted once, at every limit.
    @Test func theKeptBestAreTheFullSortsFirst() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<500 {
            let key = Self.randomKey(&generator)
            let candidates = (0..<Int.random(in: 0...60, using: &generator)).map { _ in Self.randomKey(&generator) }
            var seen = Set<MemoryKey>()
            let sorted = candidates.filter { seen.insert(MemoryKey(checked: $0)).inserted }
                .compactMap { candidate in Self.referenceScore(key, candidate).map { (key: candidate, score: $0) } }
                .sorted { $0.score != $1.score ? $0.score > $1.score : $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
                .map(\.key)
            for limit in [0, 1, 2, 5, 10, 100] {
                #expect(KeySimilarity(key).best(candidates, limit: limit) == Array(sorted.prefix(limit)), "\(key) \(limit)")
            }
        }
    }
}
