@testable import AgentMemoryJSON
import Foundation
import Testing

/// The eight-bytes-at-a-time scan of string text, against a byte-by-byte reference, and the
/// parser and writer that use it, against Foundation's.
@Suite struct JSONStringScanTests {
    /// The first `"`, `\` or control byte at or after `start`, one byte at a time.
    static func reference(_ bytes: [UInt8], from start: Int) -> (index: Int, nonASCII: Bool) {
        var index = start
        var high: UInt8 = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == 0x22 || byte == 0x5C || byte < 0x20 { break }
            high |= byte
            index += 1
        }
        return (index, high >= 0x80)
    }

    static func scan(_ bytes: [UInt8], from start: Int) -> (index: Int, nonASCII: Bool) {
        bytes.withUnsafeBufferPointer { buffer in
            var seen: UInt8 = 0
            let index = JSONStringScan.firstSpecial(in: buffer, from: start, seen: &seen)
            return (index, seen >= 0x80)
        }
    }

    @Test func eachSpecialByteIsFoundAtEveryPositionOfAWord() {
        let specials: [UInt8] = [0x22, 0x5C, 0x00, 0x01, 0x0A, 0x1F]
        let plain: [UInt8] = [0x20, 0x21, 0x23, 0x5B, 0x5D, 0x7F, 0x80, 0xC3, 0xFF, 0x41]
        for length in 0...40 {
            for filler in plain {
                let bytes = [UInt8](repeating: filler, count: length)
                for start in 0...length {
                    #expect(Self.scan(bytes, from: start) == Self.reference(bytes, from: start))
                }
                for position in 0..<length {
                    for special in specials {
                        var marked = bytes
                        marked[position] = special
                        #expect(Self.scan(marked, from: 0) == Self.reference(marked, from: 0), "\(length) \(position) \(special)")
                        #expect(Self.scan(marked, from: 0).index == position)
                    }
                }
            }
        }
    }

    @Test func randomBytesScanAsTheReferenceDoes() {
        var generator = SystemRandomNumberGenerator()
        // Bytes drawn near the boundaries the word tests use, and anywhere.
        let pool: [UInt8] = [0x00, 0x1F, 0x20, 0x21, 0x22, 0x23, 0x5B, 0x5C, 0x5D, 0x7F, 0x80, 0x9F, 0xA2, 0xDC, 0xFF]
        for _ in 0..<20_000 {
            let length = Int.random(in: 0...48, using: &generator)
            let bytes = (0..<length).map { _ in
                Bool.random(using: &generator) ? pool.randomElement(using: &generator)! : UInt8.random(in: 0x20...0xFF, using: &generator)
            }
            let start = Int.random(in: 0...length, using: &generator)
            #expect(Self.scan(bytes, from: start) == Self.reference(bytes, from: start), "\(bytes) from \(start)")
        }
    }

    /// Strings with escapes and non-ASCII text at every offset: written as Foundation writes
    /// them (compared after Foundation parses both), and parsed back to the same string.
    @Test func stringsRoundTripWithEscapesAtEveryOffset() throws {
        let pieces = ["\"", "\\", "\n", "\u{01}", "\u{1F}", "é", "€", "😀", "\u{7F}", "/"]
        for length in 0...20 {
            for piece in pieces {
                for position in 0...length {
                    let base = String(repeating: "a", count: length)
                    var text = base
                    text.insert(contentsOf: piece, at: text.index(text.startIndex, offsetBy: position))
                    let written = JSONValue.string(text).jsonString()
                    let foundation = try JSONSerialization.jsonObject(with: Data(written.utf8), options: .fragmentsAllowed) as? String
                    #expect(foundation == text, "\(written)")
                    #expect(try JSONValue(parsing: written) == .string(text))
                }
            }
        }
        #expect(JSONValue.string("a\"b\\c\nd\u{01}").jsonString() == #""a\"b\\c\nd\u0001""#)
    }

    @Test func badStringsAreStillRefused() {
        // A raw control byte after eight clean bytes, an unterminated string, invalid UTF-8
        // after a clean word.
        #expect(throws: JSONParseError.self) { try JSONValue(parsing: Data("\"abcdefghij\u{01}\"".utf8)) }
        #expect(throws: JSONParseError.self) { try JSONValue(parsing: Data("\"abcdefghijklmnop".utf8)) }
        #expect(throws: JSONParseError.self) { try JSONValue(parsing: Data([0x22] + Array("abcdefgh".utf8) + [0xFF, 0x22])) }
        #expect((try? JSONValue(parsing: Data("\"abcdefghijklmnop\"".utf8))) == .string("abcdefghijklmnop"))
    }
}
