import AgentMemoryCore
import AgentMemoryJSON
import Foundation
import GRDB
import Testing

@testable import AgentMemorySQLite

/// Records read with SQLite's C API, each value parsed straight from its column's bytes
/// (`SQLiteStoredRow.record(_:)`: `list`, the point reader's `get`, a turn's batch read): every
/// kind of value comes back as written, through each read path, and a stored value that is not
/// JSON is an error that names the store, never a crash or a wrong value.
@Suite("SQLite: values read from their column's bytes")
struct StoredValueReadTests {
    static let namespace = try! Namespace("values")

    static let values: [(String, JSONValue)] = [
        ("a/ascii", .string("plain text")),
        ("b/empty", .string("")),
        ("c/escapes", .string("quote \" backslash \\ newline \n tab \t nul-free \u{1}")),
        ("d/unicode", .string("Ünïcödé, 日本語, emoji 🚀, combining e\u{301}")),
        ("e/object", .object(["name": .string("Ada"), "tags": .array([.string("x"), .double(1.5), .int(42), .bool(true), .null])])),
        ("f/number", .double(-12.25)),
        ("g/null", .null),
        ("h/ключ", .string("a non-ASCII key")),
    ]

    @Test(arguments: [SQLiteMemoryStore.ReadPath.callingThread, .readerQueue, .automatic])
    func everyKindOfValueReadsBackAsWritten(readPath: SQLiteMemoryStore.ReadPath) async throws {
        let path = try SearchIndexingTests.temporaryPath()
        let writer = try SQLiteMemoryStore(path: path)
        for (key, value) in Self.values {
            try await writer.put(try MemoryKey(key), value: value, in: Self.namespace)
        }
        try await writer.close()

        let store = try SQLiteMemoryStore(path: path, readPath: readPath)
        let page = try await store.list(in: Self.namespace, prefix: nil, cursor: nil, limit: 100)
        #expect(page.records.map(\.key) == Self.values.map(\.0))
        #expect(page.records.map(\.value) == Self.values.map(\.1))
        #expect(page.records.allSatisfy { $0.version == 1 && $0.author == nil && $0.expiresAt == nil })
        for (key, value) in Self.values {
            #expect(try await store.get(key, in: Self.namespace)?.value == value)
        }
        try await store.close()
    }

    @Test func aValueThatIsNotJSONFailsTheReadWithTheParsersError() throws {
        // SQLite's own JSON functions refuse such a value in the table (the generated `body`
        // column reads it), so the rows come from a statement of literals.
        let db = try DatabaseQueue()
        try db.read { db in
            let good = try db.cachedStatement(sql: "SELECT 'k', '\"fine\"', 3, 1.5, 2.5, 'agent', NULL")
            #expect(try SQLiteStoredRow.allRecords(good, db: db) == [
                MemoryRecord(key: "k", value: .string("fine"), version: 3, createdAt: Date(timeIntervalSince1970: 1.5),
                             updatedAt: Date(timeIntervalSince1970: 2.5), author: "agent", expiresAt: nil),
            ])
            let bad = try db.cachedStatement(sql: "SELECT 'k', '\"fine\"', 1, 0.0, 0.0, NULL, 9.0 UNION ALL SELECT 'l', '{not json', 1, 0.0, 0.0, NULL, NULL")
            #expect(throws: JSONParseError.self) { try SQLiteStoredRow.allRecords(bad, db: db) }
            // The statement was reset: it runs again from its first row.
            #expect(throws: JSONParseError.self) { try SQLiteStoredRow.allRecords(bad, db: db) }
        }
    }
}
