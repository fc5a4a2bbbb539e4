import AgentMemoryCore
import AgentMemoryJSON
import Foundation
import GRDB
import Synchronization
import Testing

@testable import AgentMemorySQLite
import TestScratch

/// The writer connection's memo of its last commit (``SQLiteWriterMemo``): each namespace's
/// last change number and the highest record id, kept for the next write transaction only
/// while nothing else changed the file. Numbers and ids stay exactly what reading them from
/// the database gives: one after another, no gap, none given twice.
@Suite("SQLite: the writer's memo of its last commit")
struct WriterMemoTests {
    static let first = try! Namespace("memo-first")
    static let second = try! Namespace("memo-second")

    /// The change log of `namespace` as "sequence key", oldest first.
    static func log(_ store: SQLiteMemoryStore, _ namespace: Namespace) async throws -> [String] {
        try await store.changes(in: namespace, since: 0, limit: 100).map { "\($0.sequence) \($0.key)" }
    }

    /// The file's record ids and keys in id order, read on a connection of its own.
    static func ids(_ path: String) throws -> [String] {
        try DatabaseQueue(path: path).read { db in
            try Row.fetchAll(db, sql: "SELECT id, key FROM memory_records ORDER BY id").map { "\($0[0] as Int64) \($0[1] as String)" }
        }
    }

    /// How many write transactions kept the memo, and how many dropped it.
    static func counts(_ store: SQLiteMemoryStore) -> (kept: Int, dropped: Int) {
        let memo = store.indexing.statements.memo
        return (memo.kept.load(ordering: .relaxed), memo.dropped.load(ordering: .relaxed))
    }

    @Test func writesOneAfterAnotherNumberFromTheMemoWithoutAGap() async throws {
        let path = Scratch.file("writer-memo-kept")
        let store = try SQLiteMemoryStore(path: path, idleIndexMerge: nil)
        var expected: [String: [String]] = [Self.first.name: [], Self.second.name: []]
        var writes = 0
        for index in 0..<12 {
            let namespace = index % 3 == 2 ? Self.second : Self.first
            try await store.put(MemoryKey("k\(index)"), value: .string("note \(index)"), in: namespace)
            expected[namespace.name]!.append("\(expected[namespace.name]!.count + 1) k\(index)")
            writes += 1
        }
        // A batch (several numbers in one transaction), then a delete of the highest row.
        _ = try await store.batch([.put(key: "b1", value: .string("x")), .put(key: "b2", value: .string("y"))], in: Self.first)
        _ = try await store.apply([.delete(key: "b2")], in: Self.first)
        writes += 2
        expected[Self.first.name]! += ["9 b1", "10 b2", "11 b2"]
        #expect(try await Self.log(store, Self.first) == expected[Self.first.name]!)
        #expect(try await Self.log(store, Self.second) == expected[Self.second.name]!)
        // Only the first transaction read the numbers from the database.
        #expect(Self.counts(store) == (kept: writes - 1, dropped: 1))
        // An update keeps its row's id; a new row does not take the deleted highest id back.
        try await store.put("k11", value: .string("again"), in: Self.second)
        try await store.put("last", value: .string("z"), in: Self.first)
        #expect(try await Self.log(store, Self.second).last == "5 k11")
        #expect(try await Self.log(store, Self.first).last == "12 last")
        let ids = try Self.ids(path)
        #expect(ids.count == 14)
        #expect(ids.first == "1 k0")
        #expect(ids.suffix(3) == ["12 k11", "13 b1", "15 last"])
        try await store.close()
    }

    @Test func anotherConnectionsCommitMakesTheNextWriteReadTheNumbersAgain() async throws {
        let path = Scratch.file("writer-memo-other")
        let store = try SQLiteMemoryStore(path: path, idleIndexMerge: nil)
        let other = try SQLiteMemoryStore(path: path, idleIndexMerge: nil)
        try await store.put("a", value: .string("1"), in: Self.first)
        try await store.put("b", value: .string("2"), in: Self.first)
        #expect(Self.counts(store) == (kept: 1, dropped: 1))
        // Another store on the file (another connection, as another process would be) writes
        // the same namespace: the memo's numbers and highest id are now taken.
        try await other.put("c", value: .string("3"), in: Self.first)
        try await other.put("d", value: .string("4"), in: Self.first)
        try await store.put("e", value: .string("5"), in: Self.first)
        #expect(Self.counts(store) == (kept: 1, dropped: 2))
        try await store.put("f", value: .string("6"), in: Self.first)
        #expect(Self.counts(store) == (kept: 2, dropped: 2))
        #expect(try await Self.log(store, Self.first) == ["1 a", "2 b", "3 c", "4 d", "5 e", "6 f"])
        #expect(try Self.ids(path) == ["1 a", "2 b", "3 c", "4 d", "5 e", "6 f"])
        try await other.close()
        try await store.close()
    }

    /// The full-text index's upkeep (a pass, a merge) writes the index's own file, never the
    /// records': the writer's memo stays good across it.
    @Test func theIndexUpkeepLeavesTheWritersMemoGood() async throws {
        let path = Scratch.file("writer-memo-own")
        let store = try SQLiteMemoryStore(path: path, idleIndexMerge: nil)
        for index in 0..<5 { try await store.put(MemoryKey("k\(index)"), value: .string("word\(index)"), in: Self.first) }
        #expect(Self.counts(store) == (kept: 4, dropped: 1))
        _ = try await store.optimizeSearchIndex()
        try await store.put("k5", value: .string("zebra crossing"), in: Self.first)
        #expect(Self.counts(store) == (kept: 5, dropped: 1))
        let found = try await store.search("zebra", in: Self.first, limit: 5).map(\.record.key)
        // (The ranking adds a hit's neighbouring keys after it.)
        #expect(found.first == "k5")
        #expect(try await Self.log(store, Self.first).last == "6 k5")
        try await store.close()
    }

    @Test func aFailedWriteLeavesNoNumberAndNoIdBehind() async throws {
        let path = Scratch.file("writer-memo-failed")
        let store = try SQLiteMemoryStore(path: path, idleIndexMerge: nil)
        try await store.put("a", value: .string("1"), in: Self.first)
        await #expect {
            _ = try await store.apply([.put(key: "b", value: .string("2")), .delete(key: "a", ifVersion: 9)], in: Self.first)
        } throws: { error in
            (error as? MemoryError)?.code == .versionConflict
        }
        try await store.put("c", value: .string("3"), in: Self.first)
        #expect(try await Self.log(store, Self.first) == ["1 a", "2 c"])
        #expect(try Self.ids(path) == ["1 a", "2 c"])
        // The failed transaction dropped the memo; the one after it read the numbers again.
        #expect(Self.counts(store) == (kept: 1, dropped: 2))
        try await store.close()
    }

    /// A write of a group run write by write fails in its savepoint after its first rows went
    /// in (a second put of a key reads the first one's row); the writes after it number on
    /// from what the database holds, not from what the failed write had noted.
    @Test func aWriteRolledBackToItsSavepointLeavesNoNumberAndNoIdBehind() async throws {
        let path = Scratch.file("writer-memo-savepoint")
        let store = try SQLiteMemoryStore(path: path, idleIndexMerge: nil)
        try await store.put("b", value: .string("first"), in: Self.first)
        var tasks: [Task<[MemoryOperationResult], any Error>] = []
        try await GroupedWritesTests.queueBehindAHeldWrite(store, count: 3) {
            let writes: [[MemoryOperation]] = [
                [.put(key: "a", value: .string("1"))],
                [.put(key: "x", value: .string("2")), .put(key: "x", value: .string("3")), .delete(key: "b", ifVersion: 7)],
                [.put(key: "c", value: .string("4"))],
            ]
            for (index, operations) in writes.enumerated() {
                tasks.append(Task { try await store.batch(operations, in: Self.first) })
                while try store.writer.queuedCount < index + 1 { try await Task.sleep(for: .milliseconds(1)) }
            }
        }
        _ = try await tasks[0].value
        await #expect {
            _ = try await tasks[1].value
        } throws: { error in
            (error as? MemoryError)?.code == .versionConflict
        }
        _ = try await tasks[2].value
        #expect(try store.writer.groupsRetried.load(ordering: .relaxed) == 1)
        #expect(try await Self.log(store, Self.first) == ["1 b", "2 a", "3 c"])
        #expect(try Self.ids(path) == ["1 b", "2 a", "3 c"])
        try await store.close()
    }

    /// Another connection's catch-up moves the index's bound between two writes of this store:
    /// an update after it must note the text the index now holds (else the index would keep
    /// the old text and never take the new one: FTS5's integrity check fails).
    @Test func anotherConnectionsCatchUpMakesTheNextWriteReadTheIndexBoundAgain() async throws {
        let path = Scratch.file("writer-memo-bound-other")
        let store = try SQLiteMemoryStore(path: path, idleIndexMerge: nil)
        for index in 1...3 { try await store.put(MemoryKey("k\(index)"), value: .string("old words \(index)"), in: Self.first) }
        let other = try SQLiteMemoryStore(path: path, idleIndexMerge: nil)
        try await other.catchUpSearchIndex()
        #expect(try SearchIndexingTests.indexState(path) == (pending: 0, indexed: 3))
        try await store.put("k2", value: .string("fresh text"), in: Self.first)
        try await SearchIndexingTests.checkIndex(store)
        #expect(try await store.search("fresh", in: Self.first, limit: 5).first?.record.key == "k2")
        try await other.close()
        try await store.close()
    }

    /// A batch past the threshold has a pass run in the background: the index catches up
    /// with no search asking, and a write after it is noted exactly.
    @Test func aBatchPastTheThresholdIsIndexedInTheBackground() async throws {
        let path = Scratch.file("writer-memo-bound-own")
        let store = try SQLiteMemoryStore(path: path, idleIndexMerge: nil)
        let count = SQLiteSearchIndexing.catchUpThreshold + 8
        let puts: [MemoryOperation] = try (0..<count).map { .put(key: try MemoryKey("k\($0)"), value: .string("old words \($0)")) }
        _ = try await store.batch(puts, in: Self.first)
        let deadline = ContinuousClock.now + .seconds(60)
        while try SearchIndexingTests.indexState(path) != (pending: 0, indexed: count), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(try SearchIndexingTests.indexState(path) == (pending: 0, indexed: count))
        #expect(try store.searchIndex.backgroundPasses.load(ordering: .relaxed) >= 1)
        try await store.put("k1", value: .string("fresh text"), in: Self.first)
        #expect(Self.counts(store) == (kept: 1, dropped: 1))
        try await SearchIndexingTests.checkIndex(store)
        #expect(try await store.search("fresh", in: Self.first, limit: 5).first?.record.key == "k1")
        try await store.close()
    }
}
