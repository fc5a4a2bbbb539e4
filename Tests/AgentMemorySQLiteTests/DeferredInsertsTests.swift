import AgentMemoryCore
import AgentMemoryJSON
import Foundation
import GRDB
import Testing

@testable import AgentMemorySQLite

/// The held rows of a batch are bound with SQLite's C API: every column of every row, in
/// statements of 64, 32, ... 1 rows, comes back exactly as written.
@Suite("SQLite deferred inserts")
struct DeferredInsertsTests {
    @Test func everyColumnOfEveryRowComesBackExactly() async throws {
        let store = try SQLiteMemoryStore(path: try SearchIndexingTests.temporaryPath())
        let namespace = try Namespace("deferred")
        // 101 rows: statements of 64, 32, 4 and 1 rows.
        let authors: [String?] = [nil, "", "agent-1", "a b", "Zoë 🧠"]
        let values: [JSONValue] = ["", "plain", "Zoë \u{0} 🧠", 42, 1.5, .null, ["nested": [true, "x"]]]
        let operations: [MemoryOperation] = (0..<101).map { index in
            let options = PutOptions(ttl: index % 3 == 0 ? .seconds(3_600) : nil, author: authors[index % authors.count])
            return .put(key: MemoryKey(checked: "k/\(index)/é"), value: values[index % values.count], options: options)
        }
        try await store.batch(operations, in: namespace)
        let changes = try await store.changes(in: namespace, since: 0, limit: 1_000)
        #expect(changes.count == 101)
        for index in 0..<101 {
            let key = "k/\(index)/é"
            let record = try #require(try await store.get(MemoryKey(checked: key), in: namespace))
            #expect(record.value == values[index % values.count], "\(key)")
            #expect(record.author == authors[index % authors.count], "\(key)")
            #expect(record.version == 1)
            #expect((record.expiresAt != nil) == (index % 3 == 0), "\(key)")
            let change = changes[index]
            #expect(change.sequence == Int64(index + 1))
            #expect(change.key == key)
            #expect(change.operation == .put)
            #expect(change.version == 1)
            #expect(change.author == authors[index % authors.count], "\(key)")
            #expect(abs(change.time.timeIntervalSince(record.updatedAt)) < 0.001)
        }
        // The index has every row: a search finds each record whose value holds the word.
        let hits = try await store.search("plain", in: namespace, limit: 100)
        #expect(hits.filter { $0.record.value == "plain" }.count == 15)
        try await store.close()
    }

    /// The batch's text parameters are copied into the writer's arena and bound in place
    /// (``SQLiteTextArena``): values of every size, from empty to longer than the arena takes
    /// (those SQLite copies), filling its blocks past their ends, statement after statement,
    /// and batch after batch (the arena reused), come back exactly.
    @Test func valuesOfEverySizeComeBackExactlyThroughTheArena() async throws {
        let store = try SQLiteMemoryStore(path: try SearchIndexingTests.temporaryPath())
        let namespace = try Namespace("arena")
        let block = SQLiteTextArena.blockSize
        let sizes = [0, 1, 15, 16, 100, 4_000, block / 4 - 2, block / 4 - 1, block / 4, block / 4 + 1, block / 2, block + 7]
        func value(_ index: Int, _ round: Int) -> JSONValue {
            let size = sizes[index % sizes.count]
            let pattern = Array("r\(round)-i\(index) é🧠 ".utf8)
            return .string(String(decoding: (0..<size).map { pattern[$0 % pattern.count] }, as: UTF8.self))
        }
        for round in 0..<3 {
            // 97 rows: statements of 64, 32 and 1 rows.
            try await store.batch(
                (0..<97).map { .put(key: MemoryKey(checked: "k/\($0)"), value: value($0, round)) }, in: namespace)
            for index in 0..<97 {
                let record = try #require(try await store.get(MemoryKey(checked: "k/\(index)"), in: namespace))
                #expect(record.value == value(index, round), "round \(round), row \(index)")
            }
        }
        try await store.close()
    }

    /// The record ids, by key, read directly from the file.
    static func ids(_ path: String) throws -> [String: Int64] {
        let queue = try DatabaseQueue(path: path)
        defer { try? queue.close() }
        return try queue.read { db in
            Dictionary(uniqueKeysWithValues: try Row.fetchAll(db, sql: "SELECT key, id FROM memory_records").map { ($0[0], $0[1]) })
        }
    }

    /// New records are numbered one above the highest id (the highest this writer gave while
    /// nothing else wrote the file, else the highest of a record or a note), so a deleted
    /// highest id whose note is still kept is not used again, and the index follows. At the top
    /// of the id range (no room above the highest) SQLite picks the ids, at or below the
    /// index's `through`, and the rows are still read, logged and indexed.
    @Test func newRecordsAreNumberedAsSQLiteWouldAndIndexedAtTheTopOfTheRange() async throws {
        let path = try SearchIndexingTests.temporaryPath()
        let first = try SQLiteMemoryStore(path: path)
        let namespace = try Namespace("deferred")
        try await first.batch(["a", "b", "c"].map { .put(key: MemoryKey(checked: $0), value: .string("first \($0)")) }, in: namespace)
        #expect(try Self.ids(path) == ["a": 1, "b": 2, "c": 3])
        try await first.catchUpSearchIndex()
        #expect(try await first.delete("c", in: namespace))
        try await first.close()
        // The close leaves the delete's note to the next pass.
        #expect(try SearchIndexingTests.indexState(path) == (pending: 1, indexed: 3))
        let store = try SQLiteMemoryStore(path: path)
        _ = try await store.put("d", value: "second kestrel", in: namespace)
        #expect(try Self.ids(path) == ["a": 1, "b": 2, "d": 4])
        #expect(try SearchIndexingTests.indexState(path) == (pending: 2, indexed: 3))
        #expect(try await store.search("kestrel", in: namespace, limit: 5).map(\.record.key) == ["d"])
        #expect(try await store.search("c", in: namespace, limit: 5).isEmpty)
        try await SearchIndexingTests.checkIndex(store)

        // A row numbered one below the largest id SQLite allows, written directly.
        let queue = try DatabaseQueue(path: path)
        try await queue.write { db in
            try db.execute(sql: """
                INSERT INTO memory_records (id, namespace, key, value, version, created_at, updated_at, size)
                VALUES (9223372036854775806, 'deferred', 'top', '"top heron"', 1, 1800000000, 1800000000, 20)
                """)
        }
        try queue.close()
        // A pass now: its `through` is the top row's id, so every id SQLite picks below is at
        // or under it (RELIABILITY.md, defect 26: the rows it picked went unindexed when a
        // pass ran here).
        try await store.catchUpSearchIndex()
        try await store.batch(["e", "f", "g"].map { .put(key: MemoryKey(checked: $0), value: .string("third osprey \($0)")) }, in: namespace)
        let ids = try Self.ids(path)
        #expect(ids["top"] == Int64.max - 1)
        #expect(Set([ids["e"], ids["f"], ids["g"]].compactMap { $0 }).count == 3)
        #expect(ids["e"] == Int64.max)
        for key in ["e", "f", "g"] {
            #expect(try await store.get(MemoryKey(checked: key), in: namespace)?.value == .string("third osprey \(key)"))
        }
        #expect(Set(try await store.search("osprey", in: namespace, limit: 10).map(\.record.key)) == ["e", "f", "g"])
        #expect(try await store.search("heron", in: namespace, limit: 5).map(\.record.key) == ["top"])
        #expect(try await store.changes(in: namespace, since: 5, limit: 10).map(\.key) == ["e", "f", "g"])
        try await SearchIndexingTests.checkIndex(store)
        try await store.close()
    }

    /// A store that did not see the highest records deleted (another store on the file deleted
    /// them after the index's last pass) numbers its new records above every id the index may
    /// hold, so the next pass indexes them (RELIABILITY.md, defect 26: numbered one above the
    /// table's highest, a new record fell into the gap below the deleted ones, at or under the
    /// index's `through`, with no note, and no pass ever indexed it).
    @Test func aNewRecordBelowTheDeletedHighestIsIndexed() async throws {
        let path = try SearchIndexingTests.temporaryPath()
        let first = try SQLiteMemoryStore(path: path)
        let namespace = try Namespace("deferred")
        try await first.batch((1...5).map { .put(key: MemoryKey(checked: "k\($0)"), value: .string("sparrow \($0)")) }, in: namespace)
        #expect(try await first.delete("k3", in: namespace))
        try await first.catchUpSearchIndex()
        #expect(try SearchIndexingTests.indexState(path) == (pending: 0, indexed: 4))
        #expect(try await first.delete("k4", in: namespace))
        #expect(try await first.delete("k5", in: namespace))

        let second = try SQLiteMemoryStore(path: path)
        _ = try await second.put("x", value: "gap wren", in: namespace)
        let id = try #require(try Self.ids(path)["x"])
        #expect(id > 5)
        #expect(try SearchIndexingTests.indexState(path) == (pending: 3, indexed: 4))
        #expect(try await second.search("wren", in: namespace, limit: 5).map(\.record.key) == ["x"])
        #expect(try await second.search("sparrow", in: namespace, limit: 5).map(\.record.key).sorted() == ["k1", "k2"])
        try await SearchIndexingTests.checkIndex(second)
        try await second.close()
        try await first.close()
    }
}
