import AgentMemoryCore
import AgentMemoryJSON
import Foundation
import GRDB
import Synchronization
import Testing

@testable import AgentMemorySQLite
import TestScratch

/// The full-text index in a file of its own (``SQLiteSearchIndexFile``): writers do not wait for
/// a pass, an index file that does not belong to the records (missing, another store's, behind
/// notes that were deleted, ahead of records restored from a backup) is rebuilt, and the notes
/// a pass applied are deleted.
@Suite("SQLite search index file")
struct SearchIndexFileTests {
    static let namespace = try! Namespace("index-file")

    /// The keys of a search's hits.
    static func keys(_ store: SQLiteMemoryStore, _ query: String) async throws -> [String] {
        try await store.search(query, in: namespace, limit: 10).map(\.record.key)
    }

    /// A store of three records, one updated and one deleted since the index's first pass,
    /// closed (so its index is current).
    static func closedStore() async throws -> String {
        let path = try SearchIndexingTests.temporaryPath()
        let store = try SQLiteMemoryStore(path: path, idleIndexMerge: nil)
        try await store.batch([
            .put(key: "owl", value: "an owl at night"), .put(key: "fox", value: "a quick fox"), .put(key: "elk", value: "an elk"),
        ], in: namespace)
        #expect(try await Self.keys(store, "fox") == ["fox"])
        try await store.put("owl", value: "a jackdaw on the roof", in: namespace)
        #expect(try await store.delete("elk", in: namespace))
        try await store.catchUpSearchIndex()
        try await store.close()
        #expect(try SearchIndexingTests.indexState(path).pending == 0)
        return path
    }

    /// What the store at `path` answers, and the index checked against the records after.
    static func answers(_ path: String) async throws -> [[String]] {
        let store = try SQLiteMemoryStore(path: path, idleIndexMerge: nil)
        var answers: [[String]] = []
        for query in ["jackdaw", "night", "fox", "elk"] { answers.append(try await Self.keys(store, query)) }
        let rebuilds = try store.searchIndex.rebuilds.load(ordering: .relaxed)
        try await store.close()
        try SearchIndexingTests.checkIndex(path)
        #expect(answers == [["owl"], [], ["fox"], []])
        return answers + [[String(rebuilds)]]
    }

    @Test func aMissingIndexFileIsBuiltFromTheRecords() async throws {
        let path = try await Self.closedStore()
        try FileManager.default.removeItem(atPath: SQLiteSearchIndexFile.path(forRecordsAt: path))
        #expect(try await Self.answers(path).last == ["1"])
        // Built once: the next store finds it current.
        #expect(try await Self.answers(path).last == ["0"])
    }

    @Test func anotherStoresIndexFileIsRebuilt() async throws {
        let path = try await Self.closedStore()
        let other = try await Self.closedStore()
        // The other store's index, with the same texts but another stamp, copied over this one's.
        let index = SQLiteSearchIndexFile.path(forRecordsAt: path)
        try FileManager.default.removeItem(atPath: index)
        try FileManager.default.copyItem(atPath: SQLiteSearchIndexFile.path(forRecordsAt: other), toPath: index)
        #expect(try await Self.answers(path).last == ["1"])
    }

    /// An index whose last passes were lost (a power cut: its commits do not wait for the disk)
    /// while the records kept the deletion of the notes those passes applied: the notes it
    /// needs are gone, so it is rebuilt rather than trusted.
    @Test func anIndexBehindDeletedNotesIsRebuilt() async throws {
        let path = try await Self.closedStore()
        let store = try SQLiteMemoryStore(path: path, idleIndexMerge: nil)
        // More changes, applied by a pass, then deleted by the next write.
        try await store.put("fox", value: "a red fox", in: Self.namespace)
        try await store.put("fox", value: "a sly fox", in: Self.namespace)
        try await store.catchUpSearchIndex()
        try await store.put("gnu", value: "a gnu", in: Self.namespace)
        try await store.close()
        let (mark, oldest) = try SearchIndexingTests.withIndex(path) { db in
            (try Int64.fetchOne(db, sql: "SELECT mark FROM main.memory_fts_state") ?? -1,
             try Int64.fetchOne(db, sql: "SELECT MIN(seq) FROM records.memory_fts_notes") ?? -1)
        }
        #expect(oldest == mark, "the notes below the mark are deleted, the one at it kept")
        // The index as it was two notes earlier (its state only: the test of the rule).
        try SearchIndexingTests.withIndex(path) { db in
            try db.execute(sql: "UPDATE main.memory_fts_state SET mark = mark - 2")
        }
        let reopened = try SQLiteMemoryStore(path: path, idleIndexMerge: nil)
        #expect(try await Self.keys(reopened, "sly") == ["fox"])
        #expect(try await Self.keys(reopened, "gnu") == ["gnu"])
        #expect(try reopened.searchIndex.rebuilds.load(ordering: .relaxed) == 1)
        try await reopened.close()
        try SearchIndexingTests.checkIndex(path)
    }

    /// Records restored from a copy older than the index beside them: the index holds writes
    /// the records do not, so it is rebuilt.
    @Test func anIndexAheadOfRestoredRecordsIsRebuilt() async throws {
        let path = try await Self.closedStore()
        let backup = path + ".backup"
        try FileManager.default.copyItem(atPath: path, toPath: backup)
        let store = try SQLiteMemoryStore(path: path, idleIndexMerge: nil)
        try await store.put("yak", value: "a yak", in: Self.namespace)
        try await store.put("fox", value: "a sleeping fox", in: Self.namespace)
        try await store.catchUpSearchIndex()
        try await store.close()
        try FileManager.default.removeItem(atPath: path)
        try FileManager.default.moveItem(atPath: backup, toPath: path)
        let restored = try SQLiteMemoryStore(path: path, idleIndexMerge: nil)
        #expect(try await Self.keys(restored, "yak").isEmpty)
        #expect(try await Self.keys(restored, "sleeping").isEmpty)
        #expect(try await Self.keys(restored, "quick") == ["fox"])
        #expect(try restored.searchIndex.rebuilds.load(ordering: .relaxed) == 1)
        try await restored.close()
        try SearchIndexingTests.checkIndex(path)
    }

    /// The point of the file: a pass holds only the index's lock, so writes commit (durably,
    /// and are acknowledged) while it runs; a search after them waits for a pass that has them.
    @Test func writesCommitWhileAPassHoldsTheIndex() async throws {
        let path = try SearchIndexingTests.temporaryPath()
        let store = try SQLiteMemoryStore(path: path, idleIndexMerge: nil)
        try await store.put("first", value: "a first heron", in: Self.namespace)
        let index = try store.searchIndex
        let entered = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        index.beforePass.withLock { hook in
            hook = {
                entered.signal()
                release.wait()
            }
        }
        let pass = Task.detached { try index.catchUp() }
        entered.wait()
        index.beforePass.withLock { $0 = nil }
        // The pass is inside its transaction, holding the index's write lock.
        for number in 0..<20 {
            try await store.put(MemoryKey(checked: "during/\(number)"), value: .string("a kingfisher \(number)"), in: Self.namespace)
        }
        #expect(try await store.delete("first", in: Self.namespace))
        // Durable and visible to other connections before the pass ends.
        let other = try SQLiteMemoryStore(path: path, idleIndexMerge: nil)
        #expect(try await other.get("during/19", in: Self.namespace)?.value == .string("a kingfisher 19"))
        release.signal()
        #expect(try await pass.value)
        #expect(try await Self.keys(store, "kingfisher").count == 10)
        #expect(try await Self.keys(store, "heron").isEmpty)
        try await other.close()
        try await store.close()
        try SearchIndexingTests.checkIndex(path)
    }

    /// The notes a pass applied are deleted by the process's next write (keeping the one at
    /// the mark), and by a closing store when 256 or more are left; writes alone do not grow
    /// the notes.
    @Test func appliedNotesAreDeleted() async throws {
        let path = try SearchIndexingTests.temporaryPath()
        let notes = { @Sendable () throws -> Int in
            try DatabaseQueue(path: path).read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM memory_fts_notes") ?? -1 }
        }
        let store = try SQLiteMemoryStore(path: path, idleIndexMerge: nil)
        try await store.batch((0..<300).map { .put(key: MemoryKey(checked: "n/\($0)"), value: .string("plain \($0)")) }, in: Self.namespace)
        #expect(try notes() == 0, "new records need no note")
        try await store.batch((0..<300).map { .put(key: MemoryKey(checked: "n/\($0)"), value: .string("changed \($0)")) }, in: Self.namespace)
        #expect(try notes() == 300)
        try await store.catchUpSearchIndex()
        try await store.put("n/0", value: "changed again", in: Self.namespace)
        #expect(try notes() == 2, "the note at the mark, and the new one")
        try await store.close()
        #expect(try notes() == 2, "the close leaves one pending row to a later pass")

        // A store that writes 300 changes, searches (its pass applies them) and closes: the
        // pass left 301 notes below its mark, and the close deletes them.
        let second = try SQLiteMemoryStore(path: path, idleIndexMerge: nil)
        try await second.batch((0..<300).map { .put(key: MemoryKey(checked: "n/\($0)"), value: .string("third \($0)")) }, in: Self.namespace)
        #expect(try notes() == 302)
        #expect(try await Self.keys(second, "third").count == 10)
        try await second.close()
        #expect(try notes() == 1)
        #expect(try SearchIndexingTests.indexState(path).pending == 0)
        try SearchIndexingTests.checkIndex(path)

        // Short processes that only update and close, searched by others: the searches' passes
        // apply the notes, and the next writer's close that looks at the index deletes them
        // (reading the index's mark); a close looks when its rows carry the records' positions
        // across a multiple of 256 (CloseLookTests).
        let updater = try SQLiteMemoryStore(path: path, idleIndexMerge: nil)
        try await updater.batch((0..<300).map { .put(key: MemoryKey(checked: "n/\($0)"), value: .string("fourth \($0)")) }, in: Self.namespace)
        try await updater.close()
        #expect(try notes() == 301, "left for the next pass")
        let searcher = try SQLiteMemoryStore(path: path, idleIndexMerge: nil)
        #expect(try await Self.keys(searcher, "fourth").count == 10)
        try await searcher.close()
        #expect(try notes() == 301, "a store that did not write deletes nothing")
        var toCross = 256 - Int(try CloseLookTests.sum(path) % 256)
        var newNotes = 0
        if toCross > 1 {
            let quiet = try SQLiteMemoryStore(path: path, idleIndexMerge: nil)
            try await quiet.put("n/1", value: "fifth", in: Self.namespace)
            try await quiet.close()
            #expect(try notes() == 302, "a close that does not look deletes nothing")
            toCross -= 1
            newNotes = 1
        }
        let next = try SQLiteMemoryStore(path: path, idleIndexMerge: nil)
        try await next.batch((0..<toCross).map { .put(key: MemoryKey(checked: "n/\($0 + 2)"), value: .string("sixth \($0)")) }, in: Self.namespace)
        try await next.close()
        newNotes += toCross
        #expect(try notes() == 1 + newNotes, "the note at the index's mark, and the new ones")
        try await SearchIndexingTests.checkIndexAfterAPass(path)
    }

    /// Stores opened at once on a new file (as processes starting together) create one index
    /// file between them, and every write of each is found.
    @Test func storesOpenedTogetherShareOneIndexFile() async throws {
        let path = try SearchIndexingTests.temporaryPath()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for task in 0..<4 {
                group.addTask {
                    let store = try SQLiteMemoryStore(path: path, idleIndexMerge: nil)
                    for number in 0..<25 {
                        try await store.put(MemoryKey(checked: "t\(task)/\(number)"), value: .string("a lemur \(task) \(number)"), in: Self.namespace)
                    }
                    try await store.close()
                }
            }
            try await group.waitForAll()
        }
        let store = try SQLiteMemoryStore(path: path, idleIndexMerge: nil)
        #expect(try await store.search("lemur", in: Self.namespace, limit: 200).count == 100)
        try await store.close()
        try SearchIndexingTests.checkIndex(path)
    }
}
