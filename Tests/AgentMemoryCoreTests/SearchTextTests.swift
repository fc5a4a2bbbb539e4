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

@Suite("Query matcher")
struct QueryMatcherTests {
    /// The byte path (plain ASCII) and the `String` path (any other text) give the same
    /// documents and snippets as the definition: every word of ``SearchText/terms(of:)``,
    /// stemmed, compared with the query's stems.
    @Test(arguments: [
        "She painted a painting; paints daily", "notes.painting", "Paint-ing, PAINTS\tand\npainter\r\nx86 2024",
        "Café painting über paints", "", "  ?! ", "painting", "daily daily daily", "zebras and a zebra",
    ])
    func documentsMatchTheDefinition(text: String) {
        let stems = ["paint", "daili", "zebra", "x86"]
        let document = QueryMatcher(stems: stems).document(key: text, body: text)
        let words = SearchText.terms(of: text)
        var counts = [Double](repeating: 0, count: stems.count)
        for word in words { if let index = stems.firstIndex(of: PorterStemmer.stem(word)) { counts[index] += 3 } }
        #expect(document.length == 2 * words.count)
        #expect(document.counts == counts)
    }

    @Test func snippetsMarkStemsAndPrefixesOnBothPaths() {
        let matcher = QueryMatcher(stems: ["adopt", "cat"])
        #expect(matcher.snippet("She adopted two cats") == "She [adopted] two [cats]")
        #expect(matcher.snippet("Élise adopted two cats") == SearchText.snippet(terms: ["adopt", "cat"], text: "Élise adopted two cats"))
        #expect(matcher.snippet("Élise adopted two cats") == "Élise [adopted] two [cats]")
        #expect(matcher.snippet("nothing here") == nil)
        // Ten words around the first match, elided ends marked; a word that starts with a stem is marked.
        let long = "one two three four five six seven catalogue eight nine ten eleven twelve thirteen"
        #expect(matcher.snippet(long) == "…four five six seven [catalogue] eight nine ten eleven twelve…")
        #expect(matcher.snippet(long) == SearchText.snippet(terms: ["adopt", "cat"], text: long))
        #expect(matcher.snippet("a\tcat\r\nadopts") == "a [cat] [adopts]")
        // A hit found through its neighbours shows the value's first words.
        #expect(matcher.hitSnippet(key: "k", body: "no match at all") == "no match at all")
        #expect(matcher.hitSnippet(key: "cat/1", body: "no match at all") == "[cat/1]")
    }
}

extension QueryMatcherTests {
    @Test func aHitWithoutTheQueryWordsShowsItsFirstTenWords() {
        let matcher = QueryMatcher(stems: ["zebra"])
        #expect(matcher.hitSnippet(key: "k/1", body: "one  two\tthree\nfour five six seven eight nine ten eleven") == "one two three four five six seven eight nine ten…")
        #expect(matcher.hitSnippet(key: "k/1", body: "une deux trois été") == "une deux trois été")
        #expect(matcher.hitSnippet(key: "k/1", body: "") == "")
    }
}

extension QueryMatcherTests {
    /// Random ASCII texts (words of mixed case, digits, punctuation, every kind of white space,
    /// matches at the start, the middle and the end): the byte path's documents and snippets
    /// equal the `String` definitions, text by text.
    @Test func theBytePathEqualsTheDefinitionOnRandomText() {
        let stems = ["paint", "adopt", "cat", "x86"]
        let matcher = QueryMatcher(stems: stems)
        let vocabulary = ["Painting", "paints", "adopted", "ADOPTS", "cat", "catalogue", "dog", "x86", "a", "the", "zebra",
                          "notes.painting", "Paint-ing,", "well", "2024", "(cats)", "--", "?!"]
        let spaces = [" ", "  ", "\t", "\n", "\r\n", " \u{0B}", "\u{0C}"]
        // 500 texts from index arithmetic (co-prime strides walk every word, space and length).
        for sample in 0..<500 {
            let count = (sample * 7) % 30
            var text = ""
            for index in 0..<count {
                if index > 0 || sample % 4 == 0 { text += spaces[(sample * 3 + index * 5) % spaces.count] }
                text += vocabulary[(sample * 11 + index * 7 + index * index) % vocabulary.count]
            }
            if sample % 5 == 0 { text += " " }
            #expect(matcher.snippet(text) == SearchText.snippet(terms: stems, text: text), "\(text.debugDescription)")
            let words = text.split(whereSeparator: { $0.isWhitespace })
            let first = words.prefix(10).joined(separator: " ") + (words.count > 10 ? "…" : "")
            let expected = SearchText.snippet(terms: stems, text: text) ?? SearchText.snippet(terms: stems, text: "k/1") ?? first
            #expect(matcher.hitSnippet(key: "k/1", body: text) == expected, "\(text.debugDescription)")
            var counts = [Double](repeating: 0, count: stems.count)
            let terms = SearchText.terms(of: text)
            for word in terms { if let index = stems.firstIndex(of: PorterStemmer.stem(word)) { counts[index] += 1 } }
            let document = matcher.document(key: "k/1", body: text)
            #expect(document.length == terms.count + 2)
            #expect(document.counts == counts)
        }
    }

    /// The stop words are the list's 127 words, each of lower-case ASCII letters only.
    @Test func theStopWordsAreTheListsWords() {
        let words = SearchText.stopWords
        #expect(words.count == 127)
        #expect(words.isSuperset(of: ["a", "about", "the", "whose", "yourselves", "i"]))
        #expect(words.allSatisfy { !$0.isEmpty && $0.utf8.allSatisfy { (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) } })
    }
}
