import AgentMemoryCore
import Foundation

/// Text handling of the memory tool's files, on UTF-8 bytes.
///
/// Everything works on bytes, never on Swift `Character`s: a `Character` can join `\r\n` into
/// one grapheme and `String` comparison treats NFC and NFD as equal, while the reference
/// implementation (and the store) compare code point for code point. Because UTF-8 is
/// self-synchronizing, a byte match of valid UTF-8 is a code point match.
enum MemoryFileText {
    /// The most lines `view` shows, as in the reference implementation.
    static let maxLines = 999_999
    /// The width of a line number in `view` and `str_replace` results.
    static let lineNumberWidth = 6

    private static let newline = UInt8(ascii: "\n")

    /// The lines of `text`, split on `\n` only, keeping a trailing empty line (Python's
    /// `str.split("\n")`).
    static func lines(_ text: String) -> [String] {
        text.utf8.split(separator: newline, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
    }

    /// The lines of `text` without the empty one a trailing newline leaves (as `insert` counts them).
    static func linesWithoutTrailingEmpty(_ text: String) -> [String] {
        var result = lines(text)
        if result.last == "" { result.removeLast() }
        return result
    }

    /// `lines` numbered from `firstNumber`: the number right-aligned in six columns, a tab, the line.
    static func numbered(_ lines: some Sequence<String>, from firstNumber: Int) -> String {
        lines.enumerated().map { offset, line in
            String(firstNumber + offset).leftPadded(to: lineNumberWidth, with: " ") + "\t" + line
        }.joined(separator: "\n")
    }

    /// A size as the reference prints it: `0B`, `29B`, `1.0K`, `1.5K`, `4K`, `2M`.
    static func formatSize(_ bytes: Int) -> String {
        guard bytes > 0 else { return "0B" }
        let units = ["B", "K", "M", "G"]
        let exponent = min((Int.bitWidth - 1 - bytes.leadingZeroBitCount) / 10, units.count - 1)
        let size = Double(bytes) / pow(1024, Double(exponent))
        if size == size.rounded(.towardZero) {
            return "\(Int(size))\(units[exponent])"
        }
        return String(format: "%.1f", size) + units[exponent]
    }

    /// Where `needle` occurs in `haystack`, as byte offsets of non-overlapping matches, leftmost
    /// first (what Python's `str.count` counts): `aa` occurs once in `aaa`, twice in `aaaa`.
    /// Knuth–Morris–Pratt, so a pathological file and pattern cost linear time.
    static func matches(of needle: [UInt8], in haystack: [UInt8]) -> [Int] {
        guard !needle.isEmpty, needle.count <= haystack.count else { return [] }
        var failure = [Int](repeating: 0, count: needle.count)
        var length = 0
        for index in 1..<max(needle.count, 1) {
            while length > 0, needle[index] != needle[length] { length = failure[length - 1] }
            if needle[index] == needle[length] { length += 1 }
            failure[index] = length
        }
        var result: [Int] = []
        var matched = 0
        for (index, byte) in haystack.enumerated() {
            while matched > 0, byte != needle[matched] { matched = failure[matched - 1] }
            if byte == needle[matched] { matched += 1 }
            if matched == needle.count {
                result.append(index + 1 - needle.count)
                matched = 0  // no overlap: the next match starts after this one
            }
        }
        return result
    }

    /// The 1-based lines on which the byte offsets `offsets` (ascending) of `bytes` lie.
    static func lineNumbers(ofOffsets offsets: [Int], in bytes: [UInt8]) -> [Int] {
        var result: [Int] = []
        result.reserveCapacity(offsets.count)
        var line = 1
        var position = 0
        for offset in offsets {
            while position < offset {
                if bytes[position] == newline { line += 1 }
                position += 1
            }
            result.append(line)
        }
        return result
    }
}
