/// A search query's stems, prepared once per search for the work done on every record it
/// reads: counting a record's matching words (``SearchDocument``) and marking them in the hits'
/// snippets.
///
/// Plain ASCII text (the common case) is read as UTF-8 bytes, and only a word that starts like
/// one of the stems is stemmed; other text takes the `String` path of ``SearchText``, with the
/// same results. Building a `String` for every word of every record read (the pool, its
/// neighbours and their snippets) was most of a SQLite search's own time.
package struct QueryMatcher: Sendable {
    /// The query's stems, in the query's order.
    package let stems: [String]
    private let stemBytes: [[UInt8]]
    /// A stem differs from its word only in its last letters: a word is stemmed only when it
    /// starts with a stem's head (the stem less its last three characters, at least one).
    private let heads: [[UInt8]]
    private let headStrings: [String]

    /// A matcher for `stems`.
    package init(stems: [String]) {
        self.stems = stems
        stemBytes = stems.map { Array($0.utf8) }
        headStrings = stems.map { String($0.prefix(max(1, $0.count - 3))) }
        heads = headStrings.map { Array($0.utf8) }
    }

    /// The index among ``stems`` of the stem of `term`, a lower-cased word.
    func stemIndex(_ term: [UInt8]) -> Int? {
        guard heads.contains(where: { term.starts(with: $0) }) else { return nil }
        let stem = PorterStemmer.stem(bytes: term)
        return stemBytes.firstIndex(of: stem)
    }

    /// Whether a snippet marks `term`: it starts with one of the stems, or its stem is one of them.
    func marks(_ term: [UInt8]) -> Bool {
        stemBytes.contains { term.starts(with: $0) } || stemIndex(term) != nil
    }

    // MARK: - Documents

    /// The ranking's view of a record: its length in words and its weighted counts of each stem
    /// (a key's words count twice).
    package func document(key: String, body: String) -> SearchDocument {
        var key = key
        var body = body
        return key.withUTF8 { key in body.withUTF8 { body in document(key: key, body: body) } }
    }

    /// ``document(key:body:)`` of UTF-8 bytes, such as a store's row columns: no `String` is
    /// made for plain ASCII text.
    package func document(key: UnsafeBufferPointer<UInt8>, body: UnsafeBufferPointer<UInt8>) -> SearchDocument {
        var length = 0
        var counts = [Double](repeating: 0, count: stems.count)
        var term: [UInt8] = []
        term.reserveCapacity(32)
        for (text, weight) in [(key, 2.0), (body, 1.0)] {
            let plain = Self.forEachASCIITerm(text, buffer: &term) { word in
                length += 1
                if let index = stemIndex(word) { counts[index] += weight }
            }
            if !plain {
                for word in SearchText.terms(of: String(decoding: text, as: UTF8.self)) {
                    length += 1
                    if let index = stemIndexOfWord(word) { counts[index] += weight }
                }
            }
        }
        return SearchDocument(length: length, counts: counts)
    }

    /// ``stemIndex(_:)`` for a word of non-ASCII text, compared as `String`s as before.
    private func stemIndexOfWord(_ word: String) -> Int? {
        guard headStrings.contains(where: { word.hasPrefix($0) }) else { return nil }
        return stems.firstIndex(of: PorterStemmer.stem(word))
    }

    /// Calls `body` with each lower-cased word (a run of ASCII letters and digits) of `text`,
    /// in `buffer`; returns `false`, having called it for none, when `text` is not plain ASCII.
    private static func forEachASCIITerm(
        _ text: some Collection<UInt8>, buffer: inout [UInt8], _ body: ([UInt8]) -> Void
    ) -> Bool {
        let scanned = text.withContiguousStorageIfAvailable { bytes in
            forEachASCIITerm(bytes, buffer: &buffer, body)
        }
        return scanned ?? forEachASCIITerm(Array(text), buffer: &buffer, body)
    }

    /// ``forEachASCIITerm(_:buffer:_:)`` on contiguous bytes.
    private static func forEachASCIITerm(
        _ text: UnsafeBufferPointer<UInt8>, buffer: inout [UInt8], _ body: ([UInt8]) -> Void
    ) -> Bool {
        for byte in text where byte >= 0x80 { return false }
        buffer.removeAll(keepingCapacity: true)
        for byte in text {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"): buffer.append(byte)
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): buffer.append(byte + 32)
            default:
                if !buffer.isEmpty {
                    body(buffer)
                    buffer.removeAll(keepingCapacity: true)
                }
            }
        }
        if !buffer.isEmpty { body(buffer) }
        return true
    }

    /// ``forEachASCIITerm(_:buffer:_:)`` on an array's bytes.
    private static func forEachASCIITerm(_ text: [UInt8], buffer: inout [UInt8], _ body: ([UInt8]) -> Void) -> Bool {
        text.withUnsafeBufferPointer { forEachASCIITerm($0, buffer: &buffer, body) }
    }

    // MARK: - Snippets

    /// The snippet of a hit: its value around the query's words, else its key around them, else
    /// the value's first words (a record found through its neighbours may hold none of them).
    package func hitSnippet(key: String, body: String) -> String {
        if let snippet = snippet(body) ?? snippet(key) { return snippet }
        guard body.utf8.allSatisfy({ $0 < 0x80 }) else {
            let words = body.split(whereSeparator: { $0.isWhitespace })
            return words.prefix(10).joined(separator: " ") + (words.count > 10 ? "…" : "")
        }
        let bytes = Array(body.utf8)
        let words = Self.words(bytes)
        return words.prefix(10).map { String(decoding: bytes[$0], as: UTF8.self) }.joined(separator: " ") + (words.count > 10 ? "…" : "")
    }

    /// Up to ten words of `text` around the first marked word (see ``marks(_:)``), marked words
    /// in `[` `]`, elided ends marked with `…`; `nil` when no word is marked.
    package func snippet(_ text: String) -> String? {
        guard text.utf8.allSatisfy({ $0 < 0x80 }) else { return SearchText.snippet(terms: stems, text: text) }
        let bytes = Array(text.utf8)
        let words = Self.words(bytes)
        var term: [UInt8] = []
        term.reserveCapacity(32)
        func isMarked(_ word: Range<Int>) -> Bool {
            var marked = false
            _ = Self.forEachASCIITerm(bytes[word], buffer: &term) { part in
                if !marked, marks(part) { marked = true }
            }
            return marked
        }
        guard let first = words.firstIndex(where: isMarked) else { return nil }
        let from = max(0, first - 4)
        let end = min(words.count, from + 10)
        var pieces: [String] = []
        pieces.reserveCapacity(end - from)
        for index in from..<end {
            let word = String(decoding: bytes[words[index]], as: UTF8.self)
            // Words before the first marked one are not marked.
            pieces.append(index == first || (index > first && isMarked(words[index])) ? "[\(word)]" : word)
        }
        return (from > 0 ? "…" : "") + pieces.joined(separator: " ") + (end < words.count ? "…" : "")
    }

    /// The words of ASCII text: runs of bytes between ASCII white space (what
    /// `Character.isWhitespace` is in ASCII).
    private static func words(_ bytes: [UInt8]) -> [Range<Int>] {
        var words: [Range<Int>] = []
        var start: Int?
        for (index, byte) in bytes.enumerated() {
            if byte == 0x20 || (0x09...0x0D).contains(byte) {
                if let first = start { words.append(first..<index) }
                start = nil
            } else if start == nil {
                start = index
            }
        }
        if let first = start { words.append(first..<bytes.count) }
        return words
    }
}
