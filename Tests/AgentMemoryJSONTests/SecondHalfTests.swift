@testable import AgentMemoryJSON
import Foundation
import Testing
import TestScratch

/// A long input parsed on two threads (``JSONParser/SecondHalf``) gives the value, or the
/// error at the offset, that one pass gives: for messages of tool calls (where the second
/// half is used), for random documents whose guessed comma may lie inside a string, for
/// errors anywhere, and for nesting that passes the limit only below the array's own depth.
@Suite("JSON: the second half on another thread")
struct SecondHalfTests {
    /// Parses `text` both ways, the second half's thread done before the first half begins;
    /// returns whether the second half was used.
    @discardableResult
    static func expectSameParse(_ text: String, _ comment: Comment? = nil) throws -> Bool {
        var bytes = Array(text.utf8)
        return bytes.withUnsafeMutableBufferPointer { mutable -> Bool in
            let input = UnsafeBufferPointer(mutable)
            let half = JSONParser.SecondHalf.start(UnsafeBufferPointer(mutable))
            // The thread done first: its result is always there when the cursor arrives.
            half?.waitUntilParsed()
            let split = Result { try JSONParser.parse(input, secondHalf: half) }
            let single = Result { try JSONParser.parse(input, onOneThread: true) }
            switch (split, single) {
            case (.success(let a), .success(let b)):
                #expect(a == b, comment)
                // Equal as values also when the order of keys differs: compare the text too.
                #expect(a.jsonString() == b.jsonString(), comment)
            case (.failure(let a), .failure(let b)):
                #expect(a as? JSONParseError == b as? JSONParseError, comment)
            default:
                Issue.record("one way parsed, the other did not: \(split) \(single) \(comment?.rawValue ?? "")")
            }
            return half?.wasUsed ?? false
        }
    }

    /// An assistant message of `count` tool calls, as `exec` reads it.
    static func message(_ count: Int, value: (Int) -> String = { "note \($0) about the \"project\", déjà vu" }) -> String {
        var blocks = [#"{"type": "text", "text": "Saving."}"#]
        for index in 0..<count {
            let value = JSONValue.string(value(index)).jsonString()
            blocks.append(#"{"type": "tool_use", "id": "toolu_\#(index)", "name": "remember", "input": {"key": "note/\#(index)", "value": \#(value)}}"#)
        }
        return #"{"role": "assistant", "content": ["# + blocks.joined(separator: ", ") + "]}"
    }

    @Test(arguments: [1_000, 2_000])
    func aMessageOfToolCallsIsParsedInTwoHalves(count: Int) throws {
        let text = Self.message(count)
        #expect(text.utf8.count >= JSONParser.secondHalfBytes)
        #expect(try Self.expectSameParse(text))
        let value = try JSONValue(parsing: text)
        #expect(value["content"]?.arrayValue?.count == count + 1)
        #expect(value["content"]?.arrayValue?.last?["input"]?["key"] == .string("note/\(count - 1)"))
    }

    @Test func shortInputsStayOnOneThread() throws {
        let text = Self.message(20)
        #expect(text.utf8.count < JSONParser.secondHalfBytes)
        #expect(try Self.expectSameParse(text) == false)
    }

    /// The middle falls inside one long string full of `}, {`: no guess is an element boundary
    /// and none is used. Every value holds one: the first guess fails, and a later one is used.
    @Test func aGuessInsideAStringIsNotUsed() throws {
        let filler = String(repeating: "a}, {\"b\": [1, 2]}, {", count: 8_000)
        #expect(try Self.expectSameParse(#"[{"long": "\#(filler)"}, {"x": 1}, {"y": 2}]"#) == false)
        #expect(try Self.expectSameParse(Self.message(2_000) { "note \($0) }, {\"type\": 1}" }))
    }

    @Test func randomDocumentsParseTheSameBothWays() throws {
        var random = SeededGenerator(state: 48)
        var used = 0
        for round in 0..<40 {
            var elements: [String] = []
            var size = 0
            while size < JSONParser.secondHalfBytes + 20_000 {
                let element = Self.randomValue(&random, depth: 0)
                size += element.utf8.count + 2
                elements.append(element)
            }
            let array = "[" + elements.joined(separator: random.next() % 2 == 0 ? ", " : ",\n ") + "]"
            let text = random.next() % 2 == 0 ? array : #"{"role": "assistant", "content": \#(array), "stop": null}"#
            if try Self.expectSameParse(text, "round \(round)") { used += 1 }
        }
        // Strings here hold `}, {` on purpose, often enough that every guess may fall inside
        // one; the thread's elements are still used in some documents (8 of these 40).
        #expect(used >= 4)
    }

    /// Errors placed at many offsets, in either half, are the single pass's errors.
    @Test func errorsAreTheSinglePassErrors() throws {
        let text = Array(Self.message(1_000).utf8)
        var random = SeededGenerator(state: 7)
        let breakers: [UInt8] = Array(";]}{\"x\\\u{01}".utf8)
        for _ in 0..<60 {
            var broken = text
            let offset = Int(random.next() % UInt64(text.count))
            broken[offset] = breakers[Int(random.next() % UInt64(breakers.count))]
            try Self.expectSameParse(String(decoding: broken, as: UTF8.self), "at \(offset)")
        }
        try Self.expectSameParse(String(decoding: text.dropLast(), as: UTF8.self), "truncated")
        try Self.expectSameParse(String(decoding: text, as: UTF8.self) + " x", "trailing")
    }

    /// The array sits 300 levels deep; an element of its second half nests 250 more: past the
    /// limit only when the array's own depth is counted, which the thread does not know.
    @Test(arguments: [250, 200])
    func nestingPastTheLimitBelowTheArrayIsTheSinglePassError(elementDepth: Int) throws {
        let deep = String(repeating: "[", count: elementDepth) + "1" + String(repeating: "]", count: elementDepth)
        var blocks = (0..<4_000).map { #"{"k": "value \#($0) of a long array"}"# }
        blocks[3_500] = #"{"deep": \#(deep)}"#
        let array = "[" + blocks.joined(separator: ", ") + "]"
        let text = String(repeating: "[", count: 300) + array + String(repeating: "]", count: 300)
        // Within the limit the thread's elements are used; past it, the cursor parses them
        // itself and reports the single pass's error.
        #expect(try Self.expectSameParse(text) == (elementDepth == 200))
        if elementDepth == 250 {
            #expect(throws: JSONParseError.self) { try JSONValue(parsing: text) }
        } else {
            #expect(try JSONValue(parsing: text) != .null)
        }
    }

    /// JSON text of a random value: objects, arrays, strings with escapes and `}, {`, numbers.
    static func randomValue(_ random: inout SeededGenerator, depth: Int) -> String {
        switch random.next() % (depth > 3 ? 4 : 6) {
        case 0: return JSONValue.string(randomString(&random)).jsonString()
        case 1: return String(Int(random.next() % 2_000_000) - 1_000_000)
        case 2: return ["true", "false", "null", "1.5e3", "-0.25"][Int(random.next() % 5)]
        case 3: return JSONValue.string("}, {" + randomString(&random)).jsonString()
        case 4:
            let count = Int(random.next() % 5)
            return "[" + (0..<count).map { _ in randomValue(&random, depth: depth + 1) }.joined(separator: ", ") + "]"
        default:
            let count = Int(random.next() % 5)
            let members = (0..<count).map { index in "\"k\(index)\": " + randomValue(&random, depth: depth + 1) }
            return "{" + members.joined(separator: ", ") + "}"
        }
    }

    static func randomString(_ random: inout SeededGenerator) -> String {
        let pieces = ["walrus", " ", "\"", "\\", "\n", "é", "😀", "}, {", ",", "]"]
        return (0..<Int(random.next() % 12)).map { _ in pieces[Int(random.next() % UInt64(pieces.count))] }.joined()
    }
}
