/// The Porter stemmer (M. F. Porter, "An algorithm for suffix stripping", Program 14(3),
/// 1980; written here from the paper's rules), the same algorithm as SQLite FTS5's `porter`
/// tokenizer, so that the in-memory store stems as the SQLite store does.
///
/// Takes a lower-cased word; words that are not plain ASCII letters, or shorter than three
/// letters, come back unchanged.
package enum PorterStemmer {
    /// The stem of `word`.
    package static func stem(_ word: String) -> String {
        let letters = Array(word.utf8)
        guard letters.count > 2, letters.allSatisfy({ $0 >= 0x61 && $0 <= 0x7A }) else { return word }
        return String(decoding: stem(bytes: letters), as: UTF8.self)
    }

    /// The stem of `word`'s UTF-8 bytes (``stem(_:)`` without making `String`s).
    package static func stem(bytes word: [UInt8]) -> [UInt8] {
        var letters = word
        guard letters.count > 2, letters.allSatisfy({ $0 >= 0x61 && $0 <= 0x7A }) else { return word }
        step1a(&letters)
        step1b(&letters)
        step1c(&letters)
        step2(&letters)
        step3(&letters)
        step4(&letters)
        step5(&letters)
        return letters
    }

    // MARK: - Measures

    /// Whether the letter at `index` is a consonant (`y` is one unless it follows a consonant).
    private static func isConsonant(_ word: [UInt8], _ index: Int) -> Bool {
        switch word[index] {
        case UInt8(ascii: "a"), UInt8(ascii: "e"), UInt8(ascii: "i"), UInt8(ascii: "o"), UInt8(ascii: "u"): return false
        case UInt8(ascii: "y"): return index == 0 || !isConsonant(word, index - 1)
        default: return true
        }
    }

    /// The number of vowel-consonant sequences in the first `length` letters.
    private static func measure(_ word: [UInt8], _ length: Int) -> Int {
        var count = 0
        var index = 0
        while index < length, isConsonant(word, index) { index += 1 }
        while index < length {
            while index < length, !isConsonant(word, index) { index += 1 }
            guard index < length else { break }
            count += 1
            while index < length, isConsonant(word, index) { index += 1 }
        }
        return count
    }

    private static func hasVowel(_ word: [UInt8], _ length: Int) -> Bool {
        (0..<length).contains { !isConsonant(word, $0) }
    }

    /// Whether the first `length` letters end with a double consonant.
    private static func endsWithDoubleConsonant(_ word: [UInt8], _ length: Int) -> Bool {
        length >= 2 && word[length - 1] == word[length - 2] && isConsonant(word, length - 1)
    }

    /// Whether the first `length` letters end consonant-vowel-consonant, the last not w, x or y.
    private static func endsCVC(_ word: [UInt8], _ length: Int) -> Bool {
        guard length >= 3, isConsonant(word, length - 1), !isConsonant(word, length - 2), isConsonant(word, length - 3) else {
            return false
        }
        let last = word[length - 1]
        return last != UInt8(ascii: "w") && last != UInt8(ascii: "x") && last != UInt8(ascii: "y")
    }

    private static func ends(_ word: [UInt8], _ suffix: String) -> Bool {
        // Compared in place: the suffixes are short literals, stored inline (no array made).
        let count = suffix.utf8.count
        guard word.count >= count else { return false }
        var index = word.count - count
        for byte in suffix.utf8 {
            guard word[index] == byte else { return false }
            index += 1
        }
        return true
    }

    private static func replace(_ word: inout [UInt8], _ suffix: String, with replacement: String) {
        word.removeLast(suffix.utf8.count)
        word.append(contentsOf: replacement.utf8)
    }

    /// Replaces the longest of `rules`' suffixes that `word` ends with, if the stem before it
    /// has a measure above `minimum` (and passes `extra`); only the longest match is tried.
    private static func applyLongest(
        _ word: inout [UInt8], _ rules: [Rule], minimum: Int, extra: (([UInt8], Int) -> Bool)? = nil
    ) {
        var best: Rule?
        for rule in rules where rule.suffix.count > (best?.suffix.count ?? 0) && ends(word, rule.suffix) { best = rule }
        guard let best else { return }
        let stemLength = word.count - best.suffix.count
        guard measure(word, stemLength) > minimum, extra?(word, stemLength) ?? true else { return }
        word.removeLast(best.suffix.count)
        word.append(contentsOf: best.replacement)
    }

    /// A suffix and what replaces it, as bytes.
    private struct Rule {
        let suffix: [UInt8]
        let replacement: [UInt8]
        init(_ suffix: String, _ replacement: String) {
            self.suffix = Array(suffix.utf8)
            self.replacement = Array(replacement.utf8)
        }
    }

    private static func ends(_ word: [UInt8], _ suffix: [UInt8]) -> Bool {
        word.count >= suffix.count && word[(word.count - suffix.count)...].elementsEqual(suffix)
    }

    // MARK: - Steps

    private static func step1a(_ word: inout [UInt8]) {
        if ends(word, "sses") { replace(&word, "sses", with: "ss") }
        else if ends(word, "ies") { replace(&word, "ies", with: "i") }
        else if ends(word, "ss") { return }
        else if ends(word, "s") { word.removeLast() }
    }

    private static func step1b(_ word: inout [UInt8]) {
        if ends(word, "eed") {
            if measure(word, word.count - 3) > 0 { word.removeLast() }
            return
        }
        var removed = false
        for suffix in ["ed", "ing"] where ends(word, suffix) && hasVowel(word, word.count - suffix.utf8.count) {
            word.removeLast(suffix.utf8.count)
            removed = true
            break
        }
        guard removed else { return }
        if ends(word, "at") || ends(word, "bl") || ends(word, "iz") {
            word.append(UInt8(ascii: "e"))
        } else if endsWithDoubleConsonant(word, word.count), ![UInt8(ascii: "l"), UInt8(ascii: "s"), UInt8(ascii: "z")].contains(word[word.count - 1]) {
            word.removeLast()
        } else if measure(word, word.count) == 1, endsCVC(word, word.count) {
            word.append(UInt8(ascii: "e"))
        }
    }

    private static func step1c(_ word: inout [UInt8]) {
        if ends(word, "y"), hasVowel(word, word.count - 1) { word[word.count - 1] = UInt8(ascii: "i") }
    }

    private static let step2Rules: [Rule] = [
        Rule("ational", "ate"), Rule("tional", "tion"), Rule("enci", "ence"), Rule("anci", "ance"), Rule("izer", "ize"), Rule("abli", "able"),
        Rule("alli", "al"), Rule("entli", "ent"), Rule("eli", "e"), Rule("ousli", "ous"), Rule("ization", "ize"), Rule("ation", "ate"),
        Rule("ator", "ate"), Rule("alism", "al"), Rule("iveness", "ive"), Rule("fulness", "ful"), Rule("ousness", "ous"), Rule("aliti", "al"),
        Rule("iviti", "ive"), Rule("biliti", "ble"),
    ]

    private static func step2(_ word: inout [UInt8]) { applyLongest(&word, step2Rules, minimum: 0) }

    private static let step3Rules: [Rule] = [
        Rule("icate", "ic"), Rule("ative", ""), Rule("alize", "al"), Rule("iciti", "ic"), Rule("ical", "ic"), Rule("ful", ""), Rule("ness", ""),
    ]

    private static func step3(_ word: inout [UInt8]) { applyLongest(&word, step3Rules, minimum: 0) }

    private static let step4Rules: [Rule] = [
        "al", "ance", "ence", "er", "ic", "able", "ible", "ant", "ement", "ment", "ent", "ion", "ou", "ism", "ate",
        "iti", "ous", "ive", "ize",
    ].map { Rule($0, "") }

    private static func step4(_ word: inout [UInt8]) {
        applyLongest(&word, step4Rules, minimum: 1) { word, stemLength in
            // "ion" goes only after s or t.
            guard ends(word, "ion") else { return true }
            return stemLength > 0 && (word[stemLength - 1] == UInt8(ascii: "s") || word[stemLength - 1] == UInt8(ascii: "t"))
        }
    }

    private static func step5(_ word: inout [UInt8]) {
        if ends(word, "e") {
            let stemMeasure = measure(word, word.count - 1)
            if stemMeasure > 1 || (stemMeasure == 1 && !endsCVC(word, word.count - 1)) { word.removeLast() }
        }
        if measure(word, word.count) > 1, endsWithDoubleConsonant(word, word.count), word[word.count - 1] == UInt8(ascii: "l") {
            word.removeLast()
        }
    }
}
