import AgentMemoryCore
import AgentMemoryJSON
import Foundation
import GRDB
import Testing

@testable import AgentMemorySQLite
import TestScratch

/// `agent_memory_body(value)` (``SQLiteIndexedBody``): the text the full-text index holds for a
/// value, taken from between the quotes of a JSON string with nothing to unescape, NULL for
/// any other value; with SQLite's JSON functions as its fallback, it must give, for every
/// value, the text of the generated `body` column that older versions indexed (its definition
/// written out here, as the first migration wrote it), or the index and its deletes would
/// disagree.
@Suite("SQLite indexed body")
struct IndexedBodyTests {
    /// The definition of the `body` column the records had until round forty-three.
    static let columnText = "CASE WHEN json_type(value) = 'text' THEN json_extract(value, '$') ELSE value END"

    /// A connection with the function and the store's own `memory_records` table (its
    /// definition read from a file the store created).
    static func table() async throws -> DatabaseQueue {
        let path = Scratch.file("indexed-body-schema")
        try await SQLiteMemoryStore(path: path, idleIndexMerge: nil).close()
        let definition = try await DatabaseQueue(path: path).read { db in
            try String.fetchOne(db, sql: "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'memory_records'")
        }
        var configuration = Configuration()
        configuration.prepareDatabase { db in try SQLiteIndexedBody.register(db) }
        let queue = try DatabaseQueue(configuration: configuration)
        let table = try #require(definition)
        try await queue.write { db in try db.execute(sql: table) }
        return queue
    }

    /// What the function, the column and the expression the statements use give for `json`.
    static func texts(of json: String, in queue: DatabaseQueue) throws -> (function: String?, column: String?, expression: String?) {
        try queue.write { db in
            try db.execute(sql: "DELETE FROM memory_records")
            try db.execute(sql: """
                INSERT INTO memory_records (id, namespace, key, value, version, created_at, updated_at, size)
                VALUES (1, 'main', 'k', ?, 1, 0, 0, 0)
                """, arguments: [json])
            let row = try Row.fetchOne(db, sql: """
                SELECT \(SQLiteIndexedBody.functionName)(value), \(Self.columnText), \(SQLiteIndexedBody.rowText)
                FROM memory_records
                """)!
            return (row[0], row[1], row[2])
        }
    }

    /// A string with nothing to unescape gives the bytes between its quotes; escapes, other
    /// JSON values and a value with a leading space give NULL, and the column's text through
    /// the fallback.
    @Test func theFunctionGivesTheQuotedBytesOrLeavesTheValueToTheColumn() async throws {
        let queue = try await Self.table()
        let plain = ["hello world", "", "café ☕ 日本語", "tabs\u{7F}and DEL", "/slashes/ and 'single quotes'"]
        let cases: [(json: String, body: String, quick: Bool)] = plain.map { ("\"\($0)\"", $0, true) } + [
            (#""line\nbreak""#, "line\nbreak", false), (#""a \"quoted\" word""#, "a \"quoted\" word", false),
            (#""back\\slash""#, "back\\slash", false), (#""\u00e9t\u00e9""#, "été", false), (#""\/""#, "/", false),
            ("42", "42", false), ("-1.5e3", "-1.5e3", false), (#"{"a":"b"}"#, #"{"a":"b"}"#, false), ("[1,2]", "[1,2]", false),
            ("true", "true", false), ("null", "null", false), (#" "spaced""#, "spaced", false),
        ]
        for (json, body, quick) in cases {
            let texts = try Self.texts(of: json, in: queue)
            #expect(texts.function == (quick ? body : nil), "\(json)")
            #expect(texts.column == body, "\(json)")
            #expect(texts.expression == body, "\(json)")
        }
    }

    /// The function scans eight bytes at a time, then byte by byte: a byte it must refuse (`"`,
    /// `\`, each control byte from 0x00 to 0x1F), put at every position of a 41-byte text,
    /// gives NULL, and non-ASCII bytes and the byte values just beside the refused ones (`!`,
    /// `#`, `[`, `]`, space, DEL, 0x80, 0xFF in UTF-8 sequences) at every position give the
    /// bytes.
    @Test func theWordScanFindsARefusedByteAtEveryPosition() async throws {
        let queue = try DatabaseQueue(configuration: {
            var configuration = Configuration()
            configuration.prepareDatabase { db in try SQLiteIndexedBody.register(db) }
            return configuration
        }())
        func function(_ text: [UInt8]) throws -> String? {
            try queue.read { db in
                try String.fetchOne(
                    db, sql: "SELECT \(SQLiteIndexedBody.functionName)(CAST(? AS TEXT))",
                    arguments: [Data([UInt8(ascii: "\"")] + text + [UInt8(ascii: "\"")])])
            }
        }
        let plain = Array("the quick brown fox jumps over a lazy dog".utf8)
        #expect(plain.count == 41)
        #expect(try function(plain) == String(decoding: plain, as: UTF8.self))
        let refused = [UInt8(ascii: "\""), UInt8(ascii: "\\")] + (0x00...0x1F).map { UInt8($0) }
        for byte in refused {
            for position in plain.indices {
                var text = plain
                text[position] = byte
                #expect(try function(text) == nil, "byte \(byte) at \(position)")
            }
        }
        let accepted: [[UInt8]] = ["!", "#", "[", "]", " ", "\u{7F}", "\u{80}", "é", "\u{FF}", "☕"].map { Array($0.utf8) }
        for bytes in accepted {
            for position in 0...(plain.count - bytes.count) {
                var text = plain
                text.replaceSubrange(position..<(position + bytes.count), with: bytes)
                #expect(try function(text) == String(decoding: text, as: UTF8.self), "\(bytes) at \(position)")
            }
        }
    }

    /// Random strings drawn from characters JSON escapes and characters it does not, written as
    /// the store writes values: the expression is the column's text, and the decoded string.
    @Test func theExpressionIsTheColumnForRandomValues() async throws {
        let queue = try await Self.table()
        let pool: [Character] = ["a", "Z", " ", "\"", "\\", "/", "\n", "\t", "\u{1}", "é", "☕", "日", "'", "{", "}", "0"]
        // A linear congruential generator (Knuth's MMIX constants): the same strings every run.
        var state: UInt64 = 41
        func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state >> 33
        }
        var fast = 0
        for _ in 0..<400 {
            let length = Int(next() % 12)
            let text = String((0..<length).map { _ in pool[Int(next() % UInt64(pool.count))] })
            let json = JSONValue.string(text).jsonString()
            let texts = try Self.texts(of: json, in: queue)
            #expect(texts.expression == texts.column, "\(json)")
            #expect(texts.expression == text, "\(json)")
            if texts.function != nil { fast += 1 }
        }
        // Both paths were taken.
        #expect(fast > 20 && fast < 380)
    }

    /// The key of the search's best hit when the word is in it (its snippet marks the word);
    /// `nil` when no hit holds it (a search also ranks rows close to the query).
    static func match(_ word: String, in store: SQLiteMemoryStore) async throws -> String? {
        let hits = try await store.search(word, in: Namespace("main"), limit: 5)
        #expect(hits.dropFirst().allSatisfy { !$0.snippet.contains(word) })
        guard let first = hits.first, first.snippet.contains(word), first.snippet.contains("[") else { return nil }
        return first.record.key
    }

    /// Values with and without escapes (a newline or a tab before a word: read undecoded, the
    /// word would be indexed as another), indexed, then updated and deleted after the index held
    /// them (the deletes give FTS5 the texts read by the expression): FTS5's integrity check
    /// finds the index exactly as the records are, and searches find both kinds.
    @Test func theIndexHoldsTheRecordsAcrossUpdatesAndDeletes() async throws {
        let path = Scratch.file("indexed-body")
        let store = try SQLiteMemoryStore(path: path, idleIndexMerge: nil)
        let namespace = try Namespace("main")
        let values: [JSONValue] = [
            .string("plain amber words"), .string("escaped\nberyl words"), .string("été\tcobalt"),
            .object(["color": .string("dandelion")]), .int(7),
        ]
        for (index, value) in values.enumerated() {
            _ = try await store.put(MemoryKey("k/\(index)"), value: value, in: namespace)
        }
        try await store.catchUpSearchIndex()
        #expect(try await Self.match("beryl", in: store) == "k/1")
        #expect(try await Self.match("amber", in: store) == "k/0")
        // Each indexed row changes: an escaped value replaced by a plain one and the other way
        // round, one deleted.
        _ = try await store.put(MemoryKey("k/0"), value: .string("now\nemerald"), in: namespace)
        _ = try await store.put(MemoryKey("k/1"), value: .string("now plain fuchsia"), in: namespace)
        _ = try await store.put(MemoryKey("k/3"), value: .string("garnet"), in: namespace)
        _ = try await store.delete(MemoryKey("k/2"), in: namespace)
        try await SearchIndexingTests.checkIndex(store)
        #expect(try await Self.match("beryl", in: store) == nil)
        #expect(try await Self.match("emerald", in: store) == "k/0")
        #expect(try await Self.match("fuchsia", in: store) == "k/1")
        #expect(try await Self.match("cobalt", in: store) == nil)
        try await store.close()
    }
}
