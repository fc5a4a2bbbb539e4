import AgentMemoryJSON
import Foundation
import Testing

@Suite("JSONValue")
struct JSONValueTests {
    @Test func integersAndDoublesStayDistinct() throws {
        let value = try JSONValue(parsing: #"{"i": 1, "d": 1.0, "e": 1e3, "n": -0, "big": 12345678901234567890, "neg": -42}"#)
        #expect(value["i"] == .int(1))
        #expect(value["d"] == .double(1.0))
        #expect(value["e"] == .double(1000))
        #expect(value["n"] == .int(0))
        #expect(value["big"] == .double(1.2345678901234567e19))
        #expect(value["neg"] == .int(-42))
        #expect(value.jsonString() == #"{"i":1,"d":1.0,"e":1000.0,"n":0,"big":1.2345678901234567e+19,"neg":-42}"#)
    }

    @Test func stringsAreNeverConverted() throws {
        let value = try JSONValue(parsing: #"["123", "true", "null", "1.0", ""]"#)
        #expect(value == ["123", "true", "null", "1.0", ""])
    }

    @Test func objectKeyOrderIsKeptButIgnoredByEquality() throws {
        let text = #"{"zeta":1,"alpha":{"y":[true,false,null],"b":"x"},"mid":2.5}"#
        let value = try JSONValue(parsing: text)
        #expect(value.jsonString() == text)
        #expect(value.objectValue?.keys == ["zeta", "alpha", "mid"])
        let reordered = try JSONValue(parsing: #"{"mid":2.5,"alpha":{"b":"x","y":[true,false,null]},"zeta":1}"#)
        #expect(value == reordered)
        #expect(value.hashValue == reordered.hashValue)
        #expect(value.jsonString(sortedKeys: true) == #"{"alpha":{"b":"x","y":[true,false,null]},"mid":2.5,"zeta":1}"#)
    }

    @Test func objectsPastTheReservedRoomKeepEveryMemberInOrder() throws {
        // The parser reserves room for four members; objects of 0 to 20 members (past the
        // 12 where a key index is kept too) read back whole, in order, a repeated key last-wins.
        for count in 0...20 {
            let members = (0..<count).map { "\"k\($0)\":\($0)" }
            let value = try JSONValue(parsing: "{" + members.joined(separator: ",") + "}")
            #expect(value.objectValue?.keys == (0..<count).map { "k\($0)" })
            #expect(value.objectValue?["k\(count - 1)"] == (count > 0 ? .int(count - 1) : nil))
        }
        let repeated = try JSONValue(parsing: #"{"a":1,"b":2,"a":3,"c":4,"d":5,"e":6}"#)
        #expect(repeated.jsonString() == #"{"a":3,"b":2,"c":4,"d":5,"e":6}"#)
        var object = JSONObject()
        object.reserveCapacity(2)
        for index in 0..<5 { object["m\(index)"] = .int(index) }
        #expect(object.keys == ["m0", "m1", "m2", "m3", "m4"])
    }

    @Test func objectsBuiltFromMembersAreTheObjectsBuiltOneByOne() {
        // Up to 12 distinct keys are taken as given, past that or with a repeated key they are
        // added one by one: either way the same keys in the same order, a repeated key keeps its
        // first place and its last value, and members added afterwards are found.
        for count in 0...15 {
            for repeats in [false, true] {
                var members = (0..<count).map { ("k\($0)", JSONValue.int($0)) }
                if repeats, count > 1 { members.append(("k0", .string("again"))) }
                var stepwise = JSONObject()
                for (key, value) in members { stepwise[key] = value }
                var built = JSONObject(members)
                #expect(built.keys == stepwise.keys)
                #expect(built.members.map(\.value) == stepwise.members.map(\.value))
                #expect(built["k0"] == (count == 0 ? nil : (repeats && count > 1 ? .string("again") : .int(0))))
                for extra in 0..<3 {
                    built["x\(extra)"] = .int(extra)
                    stepwise["x\(extra)"] = .int(extra)
                }
                built["k1"] = .bool(true)
                stepwise["k1"] = .bool(true)
                #expect(built.keys == stepwise.keys)
                #expect(built["x2"] == .int(2) && built["k1"] == .bool(true))
                #expect(JSONValue.object(built).jsonString() == JSONValue.object(stepwise).jsonString())
            }
        }
        let literal: JSONObject = ["type": "tool_result", "tool_use_id": "t1", "content": "x"]
        #expect(literal.keys == ["type", "tool_use_id", "content"])
        #expect(literal["tool_use_id"] == .string("t1"))
    }

    @Test func jsonBytesAreTheJSONDataWhateverTheRoomMadeFirst() throws {
        let value = try JSONValue(parsing: #"{"b":[1,2.5,"x\"y\n",null,true],"a":{"k":"\u00e9\u0001"},"c":[]}"#)
        for pretty in [false, true] {
            for sortedKeys in [false, true] {
                let data = value.jsonData(pretty: pretty, sortedKeys: sortedKeys)
                for capacity in [0, 1, 40, 100_000] {
                    #expect(value.jsonBytes(pretty: pretty, sortedKeys: sortedKeys, capacity: capacity) == Array(data))
                }
            }
        }
    }

    @Test func escapesRoundTrip() throws {
        let text = #""quote \" backslash \\ slash \/ newline \n tab \t cr \r bs \b ff \f nul \u0000 e \u00e9 pair \ud83e\udde0""#
        let value = try JSONValue(parsing: text)
        #expect(value == .string("quote \" backslash \\ slash / newline \n tab \t cr \r bs \u{8} ff \u{C} nul \u{0} e é pair 🧠"))
        #expect(value.jsonString() == #""quote \" backslash \\ slash / newline \n tab \t cr \r bs \b ff \f nul \u0000 e é pair 🧠""#)
        #expect(try JSONValue(parsing: value.jsonString()) == value)
    }

    /// Escapes at the start, at the end and next to each other, and the runs between them.
    @Test func escapesAtTheEdgesOfAString() throws {
        let cases: [(String, String)] = [
            ("\"a\"", #""\"a\"""#),
            ("\\\"", #""\\\"""#),
            ("\u{1F}x\u{1}", #""\u001fx\u0001""#),
            ("Remembered \"note/00001\" (version 2).", #""Remembered \"note/00001\" (version 2).""#),
            ("plain", #""plain""#),
            ("", #""""#),
        ]
        for (string, json) in cases {
            #expect(JSONValue.string(string).jsonString() == json)
            #expect(try JSONValue(parsing: json) == .string(string))
        }
    }

    @Test(arguments: [
        ("", "Unexpected end of input at byte 0"),
        ("{", "Expected a string key at byte 1"),
        ("[1,]", "Unexpected character ']' at byte 3"),
        ("{\"a\" 1}", "Expected ':' at byte 5"),
        ("01", "Leading zero in number at byte 1"),
        ("\"abc", "Unterminated string at byte 4"),
        ("\"a\nb\"", "Unescaped control character in string at byte 2"),
        ("\"\\x\"", "Invalid escape sequence at byte 2"),
        ("\"\\ud800\"", "Unpaired surrogate in string at byte 7"),
        ("tru", "Invalid literal at byte 0"),
        ("1 2", "Unexpected trailing content at byte 2"),
        ("1e999", "Number out of range at byte 0"),
        ("-", "Invalid number at byte 1"),
    ])
    func malformedTextIsAnErrorWithAnOffset(text: String, message: String) {
        #expect(throws: JSONParseError.self) { try JSONValue(parsing: text) }
        do {
            _ = try JSONValue(parsing: text)
        } catch {
            #expect(String(describing: error) == message)
        }
    }

    @Test func invalidUTF8AndDeepNestingAreRejected() {
        #expect(throws: JSONParseError.self) { try JSONValue(parsing: [0x22, 0xFF, 0x22]) }
        let deep = String(repeating: "[", count: 600) + String(repeating: "]", count: 600)
        #expect(throws: JSONParseError.self) { try JSONValue(parsing: deep) }
        let fine = String(repeating: "[", count: 500) + String(repeating: "]", count: 500)
        #expect(throws: Never.self) { try JSONValue(parsing: fine) }
    }

    @Test func codableInteroperates() throws {
        struct Settings: Codable, Equatable {
            var theme: String
            var size: Int
            var tags: [String]
        }
        let settings = Settings(theme: "dark", size: 14, tags: ["a", "b"])
        let value = try JSONValue(encoding: settings)
        #expect(value["theme"] == "dark")
        #expect(value["size"] == 14)
        #expect(try value.decode(as: Settings.self) == settings)
        let viaFoundation = try JSONDecoder().decode(JSONValue.self, from: Data(#"{"a":[1,2.5,"x",null,true]}"#.utf8))
        #expect(viaFoundation == ["a": [1, 2.5, "x", nil, true]])
        let encoded = try JSONEncoder().encode(viaFoundation)
        #expect(try JSONValue(parsing: encoded) == viaFoundation)
    }

    @Test func prettyPrinting() {
        let value: JSONValue = ["a": [1, 2], "b": [:], "c": []]
        #expect(value.jsonString(pretty: true) == "{\n  \"a\": [\n    1,\n    2\n  ],\n  \"b\": {},\n  \"c\": []\n}")
    }
}
