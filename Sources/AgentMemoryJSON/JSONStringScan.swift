/// Finds the bytes that JSON strings treat specially, `"`, `\` and the control bytes below
/// 0x20, eight bytes at a time: the parser's and the writer's inner loop over string text.
///
/// A string's text is most of a message's bytes (keys, ids, values), and stepping through it
/// byte by byte, three comparisons each, was the largest part of parsing and writing an
/// `exec` message (BENCHMARKS.md, round twenty-seven). Eight bytes are loaded as one word and
/// tested at once with the usual bit tricks; only a word that may hold such a byte is looked
/// at byte by byte.
enum JSONStringScan {
    private static let ones: UInt64 = 0x0101_0101_0101_0101
    private static let highBits: UInt64 = 0x8080_8080_8080_8080

    /// Whether any byte of `word` is `"`, `\` or below 0x20. Exact for the word as a whole
    /// (the tests' "has a zero byte" and "has a byte less than n" for n up to 128 have no false
    /// positives for the question "any byte?").
    @inline(__always)
    static func holdsSpecial(_ word: UInt64) -> Bool {
        let quote = word ^ (ones &* 0x22)
        let backslash = word ^ (ones &* 0x5C)
        let below = (word &- ones &* 0x20) & ~word
        let zeroQuote = (quote &- ones) & ~quote
        let zeroBackslash = (backslash &- ones) & ~backslash
        return (below | zeroQuote | zeroBackslash) & highBits != 0
    }

    /// The index of the first byte at or after `start` that is `"`, `\` or below 0x20, or
    /// `buffer.count` when there is none. Every byte before it is OR-ed into `seen`'s high bit
    /// (0x80 when any of them is not ASCII), and, for the bytes looked at one by one, its
    /// other bits.
    @inline(__always)
    static func firstSpecial(in buffer: UnsafeBufferPointer<UInt8>, from start: Int, seen: inout UInt8) -> Int {
        guard let base = buffer.baseAddress else { return start }
        let count = buffer.count
        var index = start
        var words: UInt64 = 0
        while count &- index >= 8 {
            let word = UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self)
            if holdsSpecial(word) { break }
            words |= word
            index &+= 8
        }
        if words & highBits != 0 { seen |= 0x80 }
        while index < count {
            let byte = base[index]
            if byte == 0x22 || byte == 0x5C || byte < 0x20 { return index }
            seen |= byte
            index &+= 1
        }
        return count
    }
}
