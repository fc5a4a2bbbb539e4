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
    }
}
