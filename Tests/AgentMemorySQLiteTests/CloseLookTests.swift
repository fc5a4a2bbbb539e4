import AgentMemoryCore
import AgentMemoryJSON
import Foundation
import GRDB
import Synchronization
import Testing

@testable import AgentMemorySQLite
import TestScratch

/// A closing store that wrote looks at the full-text index (and catches it up when it is
/// 4,096 rows or more behind) only when its own rows carry the records' highest id plus
/// highest note across a multiple of 256 (``SQLiteMemoryStore/closeLooksAtIndex(positions:written:)``).
@Suite("SQLite: a closing writer looks at the index when its writes cross a multiple of 256")
struct CloseLookTests {
    static func looks(through: Int64, mark: Int64, written: Int) -> Bool {
        SQLiteMemoryStore.closeLooksAtIndex(positions: .init(stamp: nil, mark: mark, through: through), written: written)
    }

    @Test func theLookIsDueWhenTheRecordsPositionsCrossAMultiple() {
        #expect(SQLiteMemoryStore.closeLookStride == 256)
        #expect(!Self.looks(through: 1, mark: 0, written: 1))
        #expect(Self.looks(through: 256, mark: 0, written: 1))
        #expect(!Self.looks(through: 257, mark: 0, written: 1))
        #expect(Self.looks(through: 300, mark: 212, written: 1))  // 512: a note's number counts too
        #expect(!Self.looks(through: 300, mark: 211, written: 1))
        #expect(!Self.looks(through: 10, mark: 0, written: 0))  // an empty write
        #expect(!Self.looks(through: 255, mark: 0, written: 255))
        #expect(Self.looks(through: 256, mark: 0, written: 255))
        #expect(Self.looks(through: 600, mark: 0, written: 100))
        // Ids at the top of the range (SQLite's largest rowid) and positions below what was
        // written (a file restored meanwhile) neither overflow nor look without a crossing.
        #expect(!Self.looks(through: Int64.max, mark: 0, written: 1))
        #expect(Self.looks(through: Int64.max, mark: 1, written: 1))
        #expect(Self.looks(through: Int64.max, mark: Int64.max, written: 255))
        #expect(!Self.looks(through: 3, mark: 0, written: 200))
        // 256 rows or more always look, whatever the positions read.
        #expect(Self.looks(through: 5, mark: 0, written: 256))
        // One-row processes: one close in 256 looks, over any run of sums.
        #expect((1...25_600).filter { Self.looks(through: Int64($0), mark: 0, written: 1) }.count == 100)
        #expect((1...25_600).filter { Self.looks(through: 3, mark: Int64($0), written: 1) }.count == 100)
    }

    /// The positions as a store closing on the file reads them.
    static func sum(_ path: String) throws -> Int64 {
        let queue = try DatabaseQueue(path: path)
        defer { try? queue.close() }
        let positions = try queue.read { db in try SQLiteSearchIndexFile.recordPositions(db, schema: "main").positions }
        return positions.through + positions.mark
    }

    @Test func aCloseWhoseRowsCrossNoMultipleLeavesTheIndexFileUnopened() async throws {
        let path = try await OpenWithoutWritingTests.closedStore()
        let namespace = OpenWithoutWritingTests.namespace
        #expect(try Self.sum(path) == 5)
        // 5 → 6 (a new record), then 6 → 7 (an update's note): no multiple crossed.
        for (key, value) in [("note/5", "a swim"), ("note/5", "a swim at dawn")] {
            let store = try SQLiteMemoryStore(path: path)
            try await store.put(try MemoryKey(key), value: .string(value), in: namespace)
            let index = try store.searchIndex
            try await store.close()
            #expect(!index.wasConnected, "\(key) = \(value)")
        }
        #expect(try Self.sum(path) == 7)
        #expect(try SearchIndexingTests.indexState(path) == (pending: 1, indexed: 5))
        // 248 more rows in one process (fewer than 256): 7 → 255, still none crossed.
        let batch = try SQLiteMemoryStore(path: path)
        try await batch.batch((0..<248).map { .put(key: MemoryKey(checked: "batch/\($0)"), value: "zebu") }, in: namespace)
        let batchIndex = try batch.searchIndex
        try await batch.close()
        #expect(!batchIndex.wasConnected)
        #expect(try Self.sum(path) == 255)
        // One row more crosses 256: the close looks (and leaves the 251 rows, under 4,096).
        let crossing = try SQLiteMemoryStore(path: path)
        try await crossing.put("note/6", value: .string("a walk in the rain"), in: namespace)
        let crossingIndex = try crossing.searchIndex
        try await crossing.close()
        #expect(crossingIndex.wasConnected)
        #expect(crossingIndex.passes.load(ordering: .relaxed) == 0)
        #expect(try SearchIndexingTests.indexState(path) == (pending: 250, indexed: 5))
        // A search finds every row all the same.
        let searcher = try SQLiteMemoryStore(path: path)
        let found = try await searcher.search("swim dawn", in: namespace, limit: 10).map(\.record.key)
        #expect(found.first == "note/5")
        #expect(try await searcher.search("zebu", in: namespace, limit: 300).count == 248)
        try await searcher.close()
        try SearchIndexingTests.checkIndex(path)
    }

    /// A store that wrote 256 rows or more copies the records' log into the database file
    /// while its close looks at the index; the writer's close then deletes the log.
    @Test func aCloseAfterManyRowsCopiesTheLogBesideTheLook() async throws {
        let path = Scratch.file("close-copy")
        let namespace = OpenWithoutWritingTests.namespace
        let few = try SQLiteMemoryStore(path: path)
        try await few.batch((0..<10).map { .put(key: MemoryKey(checked: "few/\($0)"), value: "yak") }, in: namespace)
        try await few.close()
        #expect(few.closeCopiedFrames.load(ordering: .relaxed) == 0)
        let many = try SQLiteMemoryStore(path: path)
        try await many.batch((0..<300).map { .put(key: MemoryKey(checked: "many/\($0)"), value: "gnu") }, in: namespace)
        try await many.close()
        #expect(many.closeCopiedFrames.load(ordering: .relaxed) > 10)
        #expect(!FileManager.default.fileExists(atPath: path + "-wal"))
        #expect(!FileManager.default.fileExists(atPath: path + "-shm"))
        let queue = try DatabaseQueue(path: path)
        let count = try await queue.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM memory_records") }
        #expect(count == 310)
        try queue.close()
        try await SearchIndexingTests.checkIndexAfterAPass(path)
    }
}
