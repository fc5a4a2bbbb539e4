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

    /// The decoding of round forty-six, through Foundation's base64.
    static func foundationDecoded(_ cursor: String) -> String? {
        var base64 = cursor.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.utf8.count % 4 != 0 { base64 += "=" }
        guard let data = Data(base64Encoded: base64), let text = String(data: data, encoding: .utf8),
              text.utf8.starts(with: "k1:".utf8)
        else { return nil }
        return String(decoding: data.dropFirst(3), as: UTF8.self)
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
        // Any text without padding decodes as Foundation's base64 decoded it, or fails where it
        // failed: cursors with their last characters changed (trailing bits that are not zero
        // included), characters outside the alphabet.
        let characters = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") + ["+", "/", " ", "é"]
        for index in 0..<20_000 {
            var text = index % 2 == 0 ? ListCursor.encode(afterKey: String(repeating: "k", count: index % 7 + 1)) : "azE6"
            for _ in 0..<Int.random(in: 0...6, using: &generator) {
                if !text.isEmpty, Bool.random(using: &generator) { text.removeLast() }
                text.append(index % 11 == 0 ? characters.randomElement(using: &generator)! : characters[Int.random(in: 0..<64, using: &generator)])
            }
            #expect((try? ListCursor.decode(text)) == Self.foundationDecoded(text), "\(text)")
        }
        // Padding: none or what the length needs is read as Foundation read it; more than that,
        // or padding before the end, is refused (Foundation's base64 took "azE6====" for the
        // empty key, and "azE6YQ=A" for "a" and a NUL).
        for (text, key) in [("azE6YQ==", "a"), ("azE6YQ=", "a"), ("azE6YWI=", "ab"), ("azE6YR==", "a"), ("azE6", "")] {
            #expect(try ListCursor.decode(text) == key)
            #expect(Self.foundationDecoded(text) == key)
        }
        for text in ["azE6====", "azE6=", "azE6YQ===", "azE6YWI==", "azE6YQ=A", "azE6=a2t", "azE6Y", "azE6Y==="] {
            let error = #expect(throws: MemoryError.self) { try ListCursor.decode(text) }
            #expect(error?.message == "Invalid cursor \"\(text)\": pass the cursor returned by the previous page unchanged")
        }
    }
}
