import AgentMemoryJSON

/// Text helpers shared by stores that search without a full-text engine, and by all stores
/// to decide what text of a value is searchable.
package enum SearchText {
    /// The searchable text of a value: a string as it is, anything else as JSON text.
    package static func body(of value: JSONValue) -> String {
        if case .string(let text) = value { return text }
        return value.jsonString()
    }

    /// The lower-cased words (letters and digits) of `text`.
    package static func terms(of text: String) -> [String] {
        if let ascii = asciiTerms(of: text) { return ascii }
        var terms: [String] = []
        var current = ""
        for character in text.lowercased() {
            if character.isLetter || character.isNumber {
                current.append(character)
            } else if !current.isEmpty {
                terms.append(current)
                current = ""
            }
        }
        if !current.isEmpty { terms.append(current) }
        return terms
    }

    /// The same as ``terms(of:)`` for plain ASCII text, from the bytes (Unicode character
    /// properties cost most of a search's snippets); `nil` when `text` is not plain ASCII.
    private static func asciiTerms(of text: String) -> [String]? {
        var terms: [String] = []
        var current: [UInt8] = []
        for byte in text.utf8 {
            guard byte < 0x80 else { return nil }
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"): current.append(byte)
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): current.append(byte + 32)
            default:
                if !current.isEmpty {
                    terms.append(String(decoding: current, as: UTF8.self))
                    current.removeAll(keepingCapacity: true)
                }
            }
        }
        if !current.isEmpty { terms.append(String(decoding: current, as: UTF8.self)) }
        return terms
    }

    /// Up to ten words of `text` around the first match (a word whose stem is among `stems`,
    /// or that starts with one of them), matches in `[` `]`, elided ends marked with `…`;
    /// `nil` when nothing matches.
    package static func snippet(terms stems: [String], text: String) -> String? {
        var words: [Substring] = []
        for part in text.split(whereSeparator: { $0.isWhitespace }) { words.append(part) }
        // A stem differs from its word only in its last letters, so a word is stemmed only
        // when it starts like one of the stems (stemming every word of every hit was most of
        // an in-memory search's time).
        func matches(_ word: Substring) -> Bool {
            Self.terms(of: String(word)).contains { word in
                stems.contains { word.hasPrefix($0) }
                    || (stems.contains { word.hasPrefix($0.prefix(max(1, $0.count - 3))) } && stems.contains(PorterStemmer.stem(word)))
            }
        }
        guard let first = words.firstIndex(where: matches) else { return nil }
        let start = max(0, first - 4)
        let end = min(words.count, start + 10)
        var pieces: [String] = []
        for index in start..<end {
            pieces.append(matches(words[index]) ? "[\(words[index])]" : String(words[index]))
        }
        return (start > 0 ? "…" : "") + pieces.joined(separator: " ") + (end < words.count ? "…" : "")
    }

    /// The stems of ``queryTerms(of:)``, each once, in order, with the first word that gave
    /// each: what a store's full-text engine is asked for (the word) and ranks by (the stem).
    package static func queryWords(of query: String) -> [(stem: String, word: String)] {
        var words: [(stem: String, word: String)] = []
        for word in queryTerms(of: query) {
            let stem = PorterStemmer.stem(word)
            if !words.contains(where: { $0.stem == stem }) { words.append((stem, word)) }
        }
        return words
    }

    /// The stems of ``queryTerms(of:)``, each once, in order.
    package static func queryStems(of query: String) -> [String] {
        var seen = Set<String>()
        return queryTerms(of: query).map(PorterStemmer.stem).filter { seen.insert($0).inserted }
    }

    /// The words of a query that carry its topic: its terms without stop words (all of its
    /// terms when every one is a stop word), each once, in order.
    package static func queryTerms(of query: String) -> [String] {
        let all = terms(of: query)
        let kept = all.filter { !stopWords.contains($0) }
        var seen = Set<String>()
        return (kept.isEmpty ? all : kept).filter { seen.insert($0).inserted }
    }

    /// Common English function words, left out of queries: they match most notes and say
    /// nothing about which one is meant. A general list (pronouns, articles, auxiliaries,
    /// prepositions, conjunctions, question words), not tuned to any data set. Split on the
    /// spaces' bytes: `split(whereSeparator: \.isWhitespace)` walked the text Character by
    /// Character, 590,000 instructions of every search process (BENCHMARKS.md, round
    /// forty-seven).
    package static let stopWords: Set<String> = Set("""
        a about above after again against all am an and any are as at be because been before being below \
        between both but by can could did do does doing down during each few for from further had has have \
        having he her here hers herself him himself his how i if in into is it its itself just me more most my \
        myself no nor not now of off on once only or other our ours ourselves out over own same she should so \
        some such than that the their theirs them themselves then there these they this those through to too \
        under until up very was we were what when where which while who whom whose why will with would you \
        your yours yourself yourselves
        """.utf8.split(separator: UInt8(ascii: " ")).map { String(decoding: $0, as: UTF8.self) })
}
