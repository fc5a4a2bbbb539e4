import AgentMemoryCore
import AgentMemoryJSON
import Foundation
import Testing

@testable import AgentMemorySQLite

/// The rows a group of writes reads ahead (``SQLiteRecordWriter/prefetch(_:)``) are handed out
/// by position. The write rule asks for them in the order given; a caller that asks out of
/// order, or for a key given twice, must still get each key's own row as the database holds it.
@Suite("SQLite: rows read ahead")
struct ReadAheadTests {
    static let namespace = try! Namespace("read-ahead")

    /// `(version, value)` of `key`'s row as the writer reads it, `nil` for no row.
    static func read(_ writer: SQLiteRecordWriter, _ key: MemoryKey) throws -> (Int, JSONValue)? {
        try writer.row(for: key).map { ($0.stamp.version, try $0.value()) }
    }

    @Test func keysAskedOutOfOrderGetTheirOwnRows() async throws {
        let store = try SQLiteMemoryStore(path: try SearchIndexingTests.temporaryPath())
        let a = MemoryKey("a"), b = MemoryKey("b"), c = MemoryKey("c"), missing = MemoryKey("missing")
        try await store.put(a, value: "A1", in: Self.namespace)
        try await store.put(b, value: "B1", in: Self.namespace)
        try await store.put(b, value: "B2", in: Self.namespace)
        try await store.put(c, value: "C1", in: Self.namespace)
        let reads = try await store.writer.write { db -> [String] in
            let writer = SQLiteRecordWriter(db: db, namespace: Self.namespace, store: store)
            try writer.prefetch([a, b, missing, c])
            // In order for the first, then out of order: `c` before `b` and the missing key.
            let first = try Self.read(writer, a)
            let outOfOrder = try Self.read(writer, c)
            let afterIt = try Self.read(writer, b)
            let gone = try Self.read(writer, missing)
            // A second read-ahead with a key given twice: the second ask reads the row again.
            try writer.prefetch([b, b, a])
            let once = try Self.read(writer, b)
            let twice = try Self.read(writer, b)
            let last = try Self.read(writer, a)
            return [first, outOfOrder, afterIt, gone, once, twice, last].map { read in
                read.map { "\($0.0) \($0.1)" } ?? "none"
            }
        }
        #expect(reads == ["1 \"A1\"", "1 \"C1\"", "2 \"B2\"", "none", "2 \"B2\"", "2 \"B2\"", "1 \"A1\""])
        try await store.close()
    }
}
