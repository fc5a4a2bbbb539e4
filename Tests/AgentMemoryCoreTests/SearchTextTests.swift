@testable import AgentMemoryCore
import Testing

@Suite("Search text")
struct SearchTextTests {
    /// Words and their stems under the original Porter algorithm (checked against the paper's
    /// examples and NLTK's `PorterStemmer(mode=ORIGINAL_ALGORITHM)`).
    @Test(arguments: [
        ("caresses", "caress"), ("ponies", "poni"), ("cats", "cat"), ("feed", "feed"), ("agreed", "agre"),
        ("plastered", "plaster"), ("motoring", "motor"), ("sing", "sing"), ("hopping", "hop"), ("falling", "fall"),
        ("filing", "file"), ("happy", "happi"), ("relational", "relat"), ("conditional", "condit"), ("rational", "ration"),
        ("replacement", "replac"), ("adjustment", "adjust"), ("generalizations", "gener"), ("running", "run"),
        ("preferences", "prefer"), ("prefers", "prefer"), ("hopefulness", "hope"), ("sized", "size"),
        ("electrical", "electr"), ("went", "went"), ("is", "is"), ("café", "café"), ("x86", "x86"),
    ])
    func porterStems(word: String, stem: String) {
        #expect(PorterStemmer.stem(word) == stem)
    }

    @Test func termsAreLowerCasedLettersAndDigitsInAnyScript() {
        #expect(SearchText.terms(of: "User.Prefers dark-mode, v2!") == ["user", "prefers", "dark", "mode", "v2"])
        #expect(SearchText.terms(of: "Café ÜBER naïve 42") == ["café", "über", "naïve", "42"])
        #expect(SearchText.terms(of: " ?! ").isEmpty)
    }

    @Test func queryTermsDropStopWordsOnlyWhenSomethingIsLeft() {
        #expect(SearchText.queryTerms(of: "What did Melanie adopt from the shelter?") == ["melanie", "adopt", "shelter"])
        #expect(SearchText.queryTerms(of: "dark Dark mode") == ["dark", "mode"])
        #expect(SearchText.queryTerms(of: "what is it") == ["what", "is", "it"])
        #expect(SearchText.queryTerms(of: " ?! ").isEmpty)
    }

    @Test func snippetMarksWordsByStem() {
        #expect(SearchText.snippet(terms: ["adopt"], text: "She adopted two cats") == "She [adopted] two cats")
        #expect(SearchText.snippet(terms: ["zebra"], text: "She adopted two cats") == nil)
    }
}
