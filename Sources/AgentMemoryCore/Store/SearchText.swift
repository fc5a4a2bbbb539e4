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

    /// Up to ten words of `text` around the first match, matches in `[` `]`, elided ends
    /// marked with `…`; `nil` when nothing matches.
    package static func snippet(terms: [String], text: String) -> String? {
        var words: [Substring] = []
        for part in text.split(whereSeparator: { $0.isWhitespace }) { words.append(part) }
        func matches(_ word: Substring) -> Bool {
            let lowered = Self.terms(of: String(word))
            return lowered.contains { word in terms.contains { word.hasPrefix($0) } }
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
}
