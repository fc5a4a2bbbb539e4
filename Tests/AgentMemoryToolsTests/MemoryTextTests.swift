import AgentMemoryCore
import AgentMemoryJSON
import AgentMemoryTools
import Foundation
import Testing

/// The one-line previews of `list_memory`, `search_memory` and the CLI, and the listing's
/// cursors, made byte by byte: the same strings as Foundation's `replacingOccurrences`, which
/// they used before.
@Suite("Previews and cursors")
struct MemoryTextTests {
    /// What `singleLine` was, through Foundation.
    static func foundationSingleLine(_ text: String, limit: Int) -> String {
        var line = text.replacingOccurrences(of: "\r\n", with: " ").replacingOccurrences(of: "\n", with: " ")
            .replacingOccurrences(of: "\t", with: " ")
        if line.count > limit { line = String(line.prefix(limit)) + "…" }
        return line
    }

    /// What the cursor's encoding was, through Foundation.
    static func foundationCursor(_ key: String) -> String {
        Data(("k1:" + key).utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    @Test func lineBreaksAndTabsBecomeSpacesAndALoneReturnStays() {
        #expect(MemoryText.singleLine("a\r\nb\nc\td\re", limit: 80) == "a b c d\re")
        #expect(MemoryText.singleLine("\r\r\n\n\r", limit: 80) == "\r  \r")
        #expect(MemoryText.singleLine("café 👩‍👩‍👧\n", limit: 80) == "café 👩‍👩‍👧 ")
        #expect(MemoryText.singleLine("plain text", limit: 80) == "plain text")
        #expect(MemoryText.singleLine("héllo\twörld", limit: 5) == "héllo…")
        #expect(MemoryText.singleLine("👩‍👩‍👧👩‍👩‍👧", limit: 1) == "👩‍👩‍👧…")
        #expect(MemoryText.singleLine("12345", limit: 5) == "12345")
        #expect(MemoryText.preview(of: .string("first line\nsecond")) == "first line second")
    }

    /// Random texts over line breaks, tabs, multi-byte letters, emoji and combining marks give
    /// Foundation's strings, at several limits.
    @Test func previewsAreFoundationsStrings() {
        let pieces = ["a", "Z", " ", "\r", "\n", "\r\n", "\t", "é", "e\u{301}", "ß", "中", "👍🏽", "\u{0}", "-", "…"]
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2_000 {
            let text = (0..<Int.random(in: 0...24, using: &generator)).map { _ in pieces.randomElement(using: &generator)! }.joined()
            for limit in [1, 5, 12, 80] {
                #expect(MemoryText.singleLine(text, limit: limit) == Self.foundationSingleLine(text, limit: limit), "\(Array(text.unicodeScalars))")
            }
        }
    }

    /// The cursor is Foundation's base64url without padding, and decodes to its key.
    @Test func cursorsAreBase64URLWithoutPadding() throws {
        #expect(ListCursor.encode(afterKey: "a") == "azE6YQ")
        // "azE6P34/fj9+" in base64: both characters base64url replaces, and no padding.
        #expect(ListCursor.encode(afterKey: "?~?~?~") == "azE6P34_fj9-")
        // "azE6Pj4+Pw==".
        #expect(ListCursor.encode(afterKey: ">>>?") == "azE6Pj4-Pw")
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<500 {
            let key = String((0..<Int.random(in: 1...20, using: &generator)).map { _ in
                Character(UnicodeScalar(UInt8.random(in: 0x20...0xFF, using: &generator)))
            })
            let cursor = ListCursor.encode(afterKey: key)
            #expect(cursor == Self.foundationCursor(key))
            #expect(try ListCursor.decode(cursor) == key)
        }
        #expect(throws: MemoryError.self) { try ListCursor.decode("not a cursor!") }
    }
}
