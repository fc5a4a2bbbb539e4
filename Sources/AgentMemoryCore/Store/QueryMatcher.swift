import AgentMemoryJSON

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

    /// Whether a snippet marks the word `text[start..<end]` (ASCII letters and digits, any
    /// case): it starts with one of the stems, or its stem is one of them.
    private func marks(_ text: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, buffer: inout [UInt8]) -> Bool {
        stemBytes.contains { Self.word(text, start, end, startsWith: $0) } || stemIndex(text, start, end, buffer: &buffer) != nil
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
    /// made for plain ASCII text, and a word is copied (lower-cased) only when it starts with a
    /// stem's head.
    package func document(key: UnsafeBufferPointer<UInt8>, body: UnsafeBufferPointer<UInt8>) -> SearchDocument {
        var length = 0
        var counts = [Double](repeating: 0, count: stems.count)
        var term: [UInt8] = []
        func count(_ text: UnsafeBufferPointer<UInt8>, weight: Double) {
            if Self.isASCII(text) {
                Self.forEachASCIIWord(text) { start, end in
                    length += 1
                    if let index = stemIndex(text, start, end, buffer: &term) { counts[index] += weight }
                }
            } else {
                for word in SearchText.terms(of: String(decoding: text, as: UTF8.self)) {
                    length += 1
                    if let index = stemIndexOfWord(word) { counts[index] += weight }
                }
            }
        }
        count(key, weight: 2.0)
        count(body, weight: 1.0)
        return SearchDocument(length: length, counts: counts)
    }

    /// ``document(key:body:)`` of a record stored as key bytes and the value's JSON text, as a
    /// store's row holds them: a string without escapes is its JSON text less the quotes,
    /// counted from the bytes; any other value is parsed for its searchable text
    /// (``SearchText/body(of:)``).
    package func document(key: UnsafeBufferPointer<UInt8>, json: UnsafeBufferPointer<UInt8>) throws -> SearchDocument {
        if json.count >= 2, json.first == UInt8(ascii: "\""), json.last == UInt8(ascii: "\""), !json.contains(UInt8(ascii: "\\")) {
            return document(key: key, body: UnsafeBufferPointer(rebasing: json[1..<(json.count - 1)]))
        }
        var body = SearchText.body(of: try JSONValue(parsing: String(decoding: json, as: UTF8.self)))
        return body.withUTF8 { body in document(key: key, body: body) }
    }

    /// The index among ``stems`` of the stem of the word `text[start..<end]` (ASCII letters and digits, any case):
    /// compared with the heads in place, lower-cased into `buffer` and stemmed only on a match.
    private func stemIndex(_ text: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, buffer: inout [UInt8]) -> Int? {
        guard heads.contains(where: { Self.word(text, start, end, startsWith: $0) }) else { return nil }
        buffer.removeAll(keepingCapacity: true)
        for index in start..<end { buffer.append(Self.lowercased(text[index])) }
        return stemBytes.firstIndex(of: PorterStemmer.stem(bytes: buffer))
    }

    /// Whether `text[start..<end]` starts with `prefix` (lower-case), ignoring ASCII case.
    @inline(__always)
    private static func word(_ text: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, startsWith prefix: [UInt8]) -> Bool {
        guard end - start >= prefix.count else { return false }
        for (offset, byte) in prefix.enumerated() where lowercased(text[start + offset]) != byte { return false }
        return true
    }

    @inline(__always)
    private static func lowercased(_ byte: UInt8) -> UInt8 {
        byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte + 32 : byte
    }

    /// Whether every byte of `text` is ASCII (eight at a time).
    static func isASCII(_ text: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = text.baseAddress else { return true }
        var index = 0
        let raw = UnsafeRawPointer(base)
        while index + 8 <= text.count {
            if raw.loadUnaligned(fromByteOffset: index, as: UInt64.self) & 0x8080_8080_8080_8080 != 0 { return false }
            index += 8
        }
        while index < text.count {
            if text[index] >= 0x80 { return false }
            index += 1
        }
        return true
    }

    /// Calls `body` with the bounds of each word (a run of ASCII letters and digits) of ASCII `text`.
    @inline(__always)
    private static func forEachASCIIWord(_ text: UnsafeBufferPointer<UInt8>, _ body: (Int, Int) -> Void) {
        var start = -1
        for index in 0..<text.count {
            let byte = text[index]
            let isWordByte = (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
                || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
                || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
            if isWordByte {
                if start < 0 { start = index }
            } else if start >= 0 {
                body(start, index)
                start = -1
            }
        }
        if start >= 0 { body(start, text.count) }
    }

    /// The index among ``stems`` of the stem of a word of non-ASCII text, compared as `String`s as before.
    private func stemIndexOfWord(_ word: String) -> Int? {
        guard headStrings.contains(where: { word.hasPrefix($0) }) else { return nil }
        return stems.firstIndex(of: PorterStemmer.stem(word))
    }

    // MARK: - Snippets

    /// The snippet of a hit: its value around the query's words, else its key around them, else
    /// the value's first words (a record found through its neighbours may hold none of them).
    package func hitSnippet(key: String, body: String) -> String {
        if let snippet = snippet(body) ?? snippet(key) { return snippet }
        var body = body
        return body.withUTF8 { bytes in
            guard Self.isASCII(bytes) else {
                let words = String(decoding: bytes, as: UTF8.self).split(whereSeparator: { $0.isWhitespace })
                return words.prefix(10).joined(separator: " ") + (words.count > 10 ? "…" : "")
            }
            return asciiSnippet(bytes, marking: false) ?? ""
        }
    }

    /// Up to ten words of `text` around the first marked word (see ``marks(_:_:_:buffer:)``), marked words
    /// in `[` `]`, elided ends marked with `…`; `nil` when no word is marked.
    package func snippet(_ text: String) -> String? {
        var text = text
        return text.withUTF8 { bytes in
            guard Self.isASCII(bytes) else { return SearchText.snippet(terms: stems, text: String(decoding: bytes, as: UTF8.self)) }
            return asciiSnippet(bytes, marking: true)
        }
    }

    /// ``snippet(_:)`` of ASCII text, made from its bytes in one pass that stops once the
    /// snippet's last word is known: with `marking`, around the first marked word (`nil` when
    /// none is); without, the first ten words, none marked.
    private func asciiSnippet(_ bytes: UnsafeBufferPointer<UInt8>, marking: Bool) -> String? {
        var term: [UInt8] = []
        func isMarked(_ word: Range<Int>) -> Bool {
            let text = UnsafeBufferPointer(rebasing: bytes[word])
            var marked = false
            Self.forEachASCIIWord(text) { start, end in
                if !marked, marks(text, start, end, buffer: &term) { marked = true }
            }
            return marked
        }
        // The words (runs between ASCII white space, what `Character.isWhitespace` is in ASCII)
        // up to one past the snippet's last, so that an elided end is known.
        var words: [Range<Int>] = []
        words.reserveCapacity(16)
        var first: Int? = marking ? nil : 0
        var start = -1
        var index = 0
        func add(_ word: Range<Int>) -> Bool {
            words.append(word)
            if first == nil, isMarked(word) { first = words.count - 1 }
            guard let first else { return true }
            return words.count <= max(0, first - 4) + 10
        }
        scanning: while index < bytes.count {
            let byte = bytes[index]
            if byte == 0x20 || (0x09...0x0D).contains(byte) {
                if start >= 0, !add(start..<index) { break scanning }
                start = -1
            } else if start < 0 {
                start = index
            }
            index += 1
        }
        if index == bytes.count, start >= 0 { _ = add(start..<bytes.count) }
        guard let first, !words.isEmpty else { return marking ? nil : "" }
        let from = max(0, first - 4)
        let end = min(words.count, from + 10)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count < 160 ? bytes.count + 24 : 184)
        let ellipsis: [UInt8] = [0xE2, 0x80, 0xA6]
        if from > 0 { out += ellipsis }
        for position in from..<end {
            if position > from { out.append(0x20) }
            // Words before the first marked one are not marked.
            let marked = marking && (position == first || (position > first && isMarked(words[position])))
            if marked { out.append(UInt8(ascii: "[")) }
            out += UnsafeBufferPointer(rebasing: bytes[words[position]])
            if marked { out.append(UInt8(ascii: "]")) }
        }
        if end < words.count { out += ellipsis }
        return String(decoding: out, as: UTF8.self)
    }
}
