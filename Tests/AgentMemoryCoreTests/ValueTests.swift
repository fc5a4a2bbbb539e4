import AgentMemoryJSON
import AgentMemoryCore
import Foundation
import Testing

@Suite("Namespace")
struct NamespaceTests {
    @Test(arguments: ["default", "a", "agent-1", "crew:alpha.v2", "A_b", "9", String(repeating: "x", count: 128)])
    func validNames(name: String) throws {
        #expect(try Namespace(name).name == name)
    }

    @Test(arguments: ["", " a", "-a", "_a", ".a", "a b", "a/b", "a\u{0}", "café", "a\n", String(repeating: "x", count: 129), "../etc"])
    func invalidNamesAreErrorsNotCorrections(name: String) {
        #expect(throws: MemoryError.self) { try Namespace(name) }
        do {
            _ = try Namespace(name)
        } catch let error as MemoryError {
            #expect(error.code == .invalidNamespace)
            #expect(error.message.contains("a namespace is 1 to 128 characters from A-Z a-z 0-9 _ . : - and starts with a letter or digit"))
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }
}

@Suite("MemoryRecord")
struct MemoryRecordTests {
    @Test func jsonObjectRoundTrips() throws {
        let record = MemoryRecord(
            key: "k", value: ["x": 1], version: 3,
            createdAt: Date(timeIntervalSince1970: 1_800_000_000.25), updatedAt: Date(timeIntervalSince1970: 1_800_000_100.5),
            author: "agent", expiresAt: Date(timeIntervalSince1970: 1_900_000_000))
        let json = record.jsonObject
        #expect(json.jsonString() == #"{"key":"k","value":{"x":1},"version":3,"createdAt":"2027-01-15T08:00:00.250Z","updatedAt":"2027-01-15T08:01:40.500Z","author":"agent","expiresAt":"2030-03-17T17:46:40.000Z"}"#)
        #expect(try MemoryRecord(jsonObject: json) == record)
    }

    @Test func malformedRecordsNameTheField() {
        for (text, message) in [
            (#"[]"#, "a record must be a JSON object"),
            (#"{"value":1}"#, "field \"key\" must be a string"),
            (#"{"key":"k"}"#, "field \"value\" is missing"),
            (#"{"key":"k","value":1,"version":0}"#, "field \"version\" must be an integer >= 1"),
            (#"{"key":"k","value":1,"expiresAt":"tomorrow"}"#, "field \"expiresAt\" must be an ISO 8601 time, got \"tomorrow\""),
        ] {
            do {
                _ = try MemoryRecord(jsonObject: JSONValue(parsing: text))
                Issue.record("accepted \(text)")
            } catch let error as MemoryError {
                #expect(error.message == message)
            } catch {
                Issue.record("unexpected \(error)")
            }
        }
    }
}

@Suite("MemoryKey")
struct MemoryKeyTests {
    @Test func spellingsThatStringEqualityMergesStayDistinct() throws {
        let composed = MemoryKey("caf\u{E9}")
        let decomposed = MemoryKey("cafe\u{301}")
        #expect("caf\u{E9}" == "cafe\u{301}")  // Swift's String equality
        #expect(composed != decomposed)
        #expect(Set([composed, decomposed]).count == 2)
        #expect(composed > decomposed)  // 0xC3 sorts after 0x65
    }

    @Test func keysOrderByBytes() throws {
        let keys = try ["b", "B", "a", "é", "ab", "~"].map { try MemoryKey($0) }
        #expect(keys.sorted().map(\.rawValue) == ["B", "a", "ab", "b", "~", "é"])
    }

    /// Keys longer than a small string's inline storage (15 bytes) compare by their bytes too:
    /// a prefix first, the first differing byte deciding, equal only with the same length.
    @Test func longKeysCompareByBytes() throws {
        let base = "projects/agent-memory/notes/"
        let keys = try [base + "b", base + "a/x", base, base + "a", base + "é", base + "A"].map { try MemoryKey($0) }
        #expect(keys.sorted().map(\.rawValue) == [base, base + "A", base + "a", base + "a/x", base + "b", base + "é"])
        #expect(try MemoryKey(base + "a") == MemoryKey(String(decoding: Array((base + "a").utf8), as: UTF8.self)))
        #expect(try MemoryKey(base + "a") != MemoryKey(base + "a/"))
        #expect(try MemoryKey(base + "caf\u{E9}") != MemoryKey(base + "cafe\u{301}"))
        #expect(try !(MemoryKey(base + "a") < MemoryKey(base + "a")))
        #expect(try MemoryKey(base + "a") < MemoryKey(base + "a/"))
        #expect((base + "a").bytesEqual(base + "a"))
        #expect(!(base + "a").bytesEqual(base + "b"))
        #expect("".bytesEqual(""))
        #expect("".bytesPrecede("a"))
        #expect(!"a".bytesPrecede(""))
    }

    @Test(arguments: [
        ("", "Invalid key: a key must not be empty (1 to 512 UTF-8 bytes)"),
        (String(repeating: "x", count: 513), "Invalid key: the key is 513 UTF-8 bytes, the limit is 512"),
        ("a\nb", "Invalid key: keys must not contain control characters (found U+000A)"),
        ("a\u{85}b", "Invalid key: keys must not contain control characters (found U+0085)"),
    ])
    func invalidKeysSayWhichRuleTheyBreak(key: String, message: String) {
        #expect(performing: { try MemoryKey(key) }, throws: { ($0 as? MemoryError)?.message == message && ($0 as? MemoryError)?.code == .invalidKey })
    }

    @Test func theLongestKeyAndUnicodeAreAccepted() throws {
        #expect(try MemoryKey(String(repeating: "é", count: 256)).byteCount == 512)
        let text = "日本/メモ"
        #expect(try MemoryKey(text).rawValue == text)
    }
}
