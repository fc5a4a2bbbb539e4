import AgentMemoryCore
import AgentMemoryJSON
import Foundation
import GRDB
import Synchronization
import Testing

@testable import AgentMemorySQLite

/// The full-text index off the write path: writes note their rows in `memory_fts_pending`, the
/// index catches up in batches, before a search that would miss a write, and at close
/// (SQLiteSearchIndexing). Checked with FTS5's integrity check (``SearchIndexingTests/checkIndex(_:)``).
@Suite("SQLite search index catch-up")
struct SearchCatchUpTests {
    static let namespace = try! Namespace("main")

    /// The rows with a note the index has not applied (new rows need none).
    static func notes(_ path: String) throws -> Int {
        try SearchIndexingTests.withIndex(path) { db in
            let mark = try SQLiteSearchIndexFile.indexPositions(db, schema: "main")?.mark ?? 0
            return try Int.fetchOne(db, sql: "SELECT count(DISTINCT id) FROM records.memory_fts_notes WHERE seq > ?", arguments: [mark]) ?? -1
        }
    }

    /// The keys of a search's hits.
    static func keys(_ store: SQLiteMemoryStore, _ query: String, limit: Int = 10) async throws -> [String] {
        try await store.search(query, in: namespace, limit: limit).map(\.record.key)
    }

    /// New rows are not noted, and a pass indexes every record above the index's `through`;
    /// the edges of that rule: such a row updated or deleted in a later transaction (noted like
    /// any change, and the pass, whose index never held it, removes nothing for it), and a new
    /// row after the highest indexed row was deleted (the delete is noted, and the deleted
    /// row's text removed).
    @Test func rowsAboveTheIndexNeedNoNoteAndTheEdgesStayExact() async throws {
        let path = try SearchIndexingTests.temporaryPath()
        let store = try SQLiteMemoryStore(path: path, idleIndexMerge: nil)
        let namespace = Self.namespace
        try await store.batch([.put(key: "a", value: "aardvark"), .put(key: "b", value: "badger")], in: namespace)
        try await store.catchUpSearchIndex()
        #expect(try SearchIndexingTests.indexState(path) == (pending: 0, indexed: 2))

        // Above the index: inserted, then updated and deleted in later transactions.
        try await store.put("c", value: "cheetah", in: namespace)
        try await store.put("d", value: "dingo", in: namespace)
        try await store.put("c", value: "chameleon", in: namespace)
        #expect(try await store.delete("d", in: namespace))
        #expect(try Self.notes(path) == 2)
        #expect(try SearchIndexingTests.indexState(path) == (pending: 2, indexed: 2))
        try await store.catchUpSearchIndex()
        try SearchIndexingTests.checkIndex(path)
        #expect(try await Self.keys(store, "chameleon cheetah dingo") == ["c"])
        #expect(try await Self.keys(store, "cheetah").isEmpty)

        // The highest indexed row ("c") deleted, and a new row numbered like it.
        #expect(try await store.delete("c", in: namespace))
        try await store.put("e", value: "echidna", in: namespace)
        #expect(try Self.notes(path) == 1)
        #expect(try await Self.keys(store, "chameleon").isEmpty)
        #expect(try await Self.keys(store, "echidna") == ["e"])
        try SearchIndexingTests.checkIndex(path)
        #expect(try SearchIndexingTests.indexState(path) == (pending: 0, indexed: 3))
        try await store.close()
    }

    /// Rows written and not yet indexed, changed again before the index catches up: a new row
    /// updated and one deleted (the index holds nothing for them), and indexed rows updated
    /// twice in two transactions (the index holds the text before the first: the first note
    /// wins), deleted and created again, and rolled back over. Search answers from the records
    /// as they are, and the index is exact once caught up.
    @Test func updatesAndDeletesOfPendingRowsKeepTheIndexExact() async throws {
        let path = try SearchIndexingTests.temporaryPath()
        let store = try SQLiteMemoryStore(path: path, idleIndexMerge: nil)
        let namespace = Self.namespace
        try await store.batch([
            .put(key: "a", value: "aardvark"), .put(key: "b", value: "badger"), .put(key: "c", value: "cheetah"),
        ], in: namespace)
        // New rows, still pending, changed again.
        try await store.put("a", value: "albatross", in: namespace)
        #expect(try await store.delete("b", in: namespace))
        // Waiting: "a" and "c" (the index has never run); "b" is gone. The update and the
        // delete are noted, as every change to a row that existed before its transaction.
        #expect(try SearchIndexingTests.indexState(path) == (pending: 2, indexed: 0))
        #expect(try Self.notes(path) == 2)
        #expect(try await Self.keys(store, "aardvark").isEmpty)
        #expect(try await Self.keys(store, "badger").isEmpty)
        #expect(try await Self.keys(store, "albatross") == ["a"])
        #expect(try await Self.keys(store, "cheetah") == ["c"])
        #expect(try SearchIndexingTests.indexState(path) == (pending: 0, indexed: 2))
        try SearchIndexingTests.checkIndex(path)

        // Indexed rows: two updates of one in two transactions, a delete and a re-creation of
        // another (SQLite gives it the freed id of "b"), a batch that rolls back.
        try await store.put("a", value: "anteater", in: namespace)
        try await store.put("a", value: "armadillo", in: namespace)
        #expect(try await store.delete("c", in: namespace))
        try await store.put("c", value: "chinchilla", in: namespace)
        _ = try? await store.batch([
            .put(key: "a", value: "never"), .delete(key: "c"), .put(key: "d", value: "x", options: PutOptions(ifVersion: 999)),
        ], in: namespace)
        #expect(try SearchIndexingTests.indexState(path).pending >= 2)
        // Not caught up: the index still holds "albatross" and "cheetah", so FTS5 finds it
        // unlike the records (the writes did not touch it).
        #expect(throws: (any Error).self) { try SearchIndexingTests.checkIndex(path) }
        #expect(try await Self.keys(store, "albatross anteater cheetah never").isEmpty)
        #expect(try await Self.keys(store, "armadillo") == ["a"])
        #expect(try await Self.keys(store, "chinchilla") == ["c"])
        try SearchIndexingTests.checkIndex(path)

        // Pending rows met by group commit: concurrent writes of the same keys, with conflicts.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for task in 0..<16 {
                group.addTask {
                    let key = MemoryKey(checked: ["a", "c", "e"][task % 3])
                    if task % 4 == 3 {
                        _ = try? await store.put(key, value: "collision", in: namespace, options: PutOptions(ifVersion: 999))
                    } else if task % 5 == 4 {
                        _ = try await store.delete(key, in: namespace)
                    } else {
                        _ = try await store.put(key, value: .string("wombat \(task)"), in: namespace)
                    }
                }
            }
            try await group.waitForAll()
        }
        let live = Set(try await store.allRecords(in: namespace).filter { $0.value.stringValue?.hasPrefix("wombat") == true }.map(\.key))
        #expect(Set(try await Self.keys(store, "wombat")) == live)
        #expect(try await Self.keys(store, "collision").isEmpty)
        try await SearchIndexingTests.checkIndex(store)
        try await store.close()
    }

    /// Every write that returned is found by the search that follows it, with no catch-up asked
    /// for: the search finds rows pending and has the index catch up first, in a transaction
    /// that leaves the FULL store FULL.
    @Test func aSearchRightAfterWritesFindsThem() async throws {
        let path = try SearchIndexingTests.temporaryPath()
        let store = try SQLiteMemoryStore(path: path, idleIndexMerge: nil)
        let namespace = Self.namespace
        let animals = ["ocelot", "pangolin", "quokka", "raccoon", "serval"]
        for (index, animal) in animals.enumerated() {
            try await store.put(MemoryKey(checked: "pet/\(index)"), value: .string("a \(animal) named \(index)"), in: namespace)
            #expect(try SearchIndexingTests.indexState(path).pending == 1)
            #expect(try await Self.keys(store, animal).first == "pet/\(index)")
            #expect(try SearchIndexingTests.indexState(path).pending == 0)
        }
        try await store.put("pet/0", value: "a tapir", in: namespace)
        #expect(try await Self.keys(store, "ocelot").isEmpty)
        #expect(try await Self.keys(store, "tapir").first == "pet/0")
        #expect(try await store.delete("pet/1", in: namespace))
        #expect(try await Self.keys(store, "pangolin").isEmpty)
        // The catch-up's own transaction relaxed `synchronous` for itself only.
        #expect(try await store.effectiveSynchronous() == 2)
        try await SearchIndexingTests.checkIndex(store)
        try await store.close()
    }

    /// Searches racing writers: each search finds every key whose put returned before the
    /// search began (keys are only added, each with a word of its own and one in common).
    @Test(arguments: [SQLiteMemoryStore.Synchronous.full, .normal])
    func searchesRacingWritersFindEveryWriteThatReturnedBeforeThem(_ synchronous: SQLiteMemoryStore.Synchronous) async throws {
        let path = try SearchIndexingTests.temporaryPath()
        let store = try SQLiteMemoryStore(path: path, synchronous: synchronous, idleIndexMerge: nil)
        let namespace = Self.namespace
        let race = Race()
        let writers = 4, putsEach = 60
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<writers {
                group.addTask {
                    for index in 0..<putsEach {
                        let key = "w\(writer)x\(index)"
                        try await store.put(MemoryKey(checked: key), value: .string("racer \(key)"), in: namespace)
                        _ = race.returned.withLock { $0.insert(key) }
                        // A NORMAL put never suspends either: let the searches in between puts.
                        await Task.yield()
                    }
                }
            }
            for _ in 0..<4 {
                group.addTask {
                    while true {
                        let before = race.returned.withLock { $0 }
                        let found = Set(try await Self.keys(store, "racer", limit: writers * putsEach + 10))
                        let missing = before.subtracting(found)
                        #expect(missing.isEmpty, "a search missed \(missing.count) keys whose puts had returned: \(missing.sorted().prefix(5))")
                        if before.count == writers * putsEach { return }
                        race.searches.add(1, ordering: .relaxed)
                        // A search of a caught-up index never suspends: leave the writers a thread.
                        await Task.yield()
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(race.searches.load(ordering: .relaxed) > 4, "too few searches ran while the writers wrote")
        // One word of a key of its own finds it first.
        #expect(try await Self.keys(store, "w3x59").first == "w3x59")
        try await SearchIndexingTests.checkIndex(store)
        try await store.close()
    }

    /// Writes alone do not touch FTS5: below ``SQLiteSearchIndexing/catchUpThreshold`` rows
    /// written the index holds nothing new and has no segment; the commit that passes it asks
    /// for a pass in the background, which indexes every pending row with no search asking.
    @Test func writesAloneIndexInBatchesAtTheThreshold() async throws {
        let path = try SearchIndexingTests.temporaryPath()
        let store = try SQLiteMemoryStore(path: path, synchronous: .normal, idleIndexMerge: nil)
        let namespace = Self.namespace
        let threshold = SQLiteSearchIndexing.catchUpThreshold
        #expect(threshold == 4_096)  // the README's number
        for index in 0..<10 {
            try await store.put(MemoryKey(checked: "single/\(index)"), value: "yak", in: namespace)
        }
        try await store.batch((0..<(threshold - 20)).map { .put(key: MemoryKey(checked: "batch/\($0)"), value: "zebu") }, in: namespace)
        #expect(try SearchIndexingTests.indexState(path) == (pending: threshold - 10, indexed: 0))
        #expect(try SearchIndexingTests.withIndex(path) { db in try SQLiteSearchIndexing.segmentCount(db) } == 0)
        // Nine more: still below. The tenth reaches the threshold: a pass in the background.
        for index in 10..<19 {
            try await store.put(MemoryKey(checked: "single/\(index)"), value: "yak", in: namespace)
        }
        #expect(try SearchIndexingTests.indexState(path) == (pending: threshold - 1, indexed: 0))
        #expect(try store.searchIndex.backgroundPasses.load(ordering: .relaxed) == 0)
        try await store.put("single/19", value: "yak", in: namespace)
        let deadline = ContinuousClock.now + .seconds(60)
        while try store.searchIndex.passes.load(ordering: .relaxed) == 0, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(5))
        }
        #expect(try store.searchIndex.backgroundPasses.load(ordering: .relaxed) == 1)
        try store.searchIndex.stopBackground()
        #expect(try SearchIndexingTests.indexState(path) == (pending: 0, indexed: threshold))
        try SearchIndexingTests.checkIndex(path)
        #expect(try await Self.keys(store, "yak", limit: 100).count == 20)
        try await store.close()
    }

    /// A large write asks, as it begins, for a pass over the rows pending, which runs beside it
    /// (``SQLiteSearchIndexing/overlapThreshold``), but not when the write or the rows pending
    /// are fewer than 1,000; the write's own rows wait for a later pass, and every row is found.
    @Test func aLargeWriteStartsAPassOverTheRowsPendingBesideIt() async throws {
        let path = try SearchIndexingTests.temporaryPath()
        let store = try SQLiteMemoryStore(path: path, synchronous: .normal, idleIndexMerge: nil)
        let size = SQLiteSearchIndexing.overlapThreshold
        #expect(size == 1_000)
        func batch(_ name: String, _ count: Int) async throws {
            try await store.batch((0..<count).map { .put(key: MemoryKey(checked: "\(name)/\($0)"), value: "gnu") }, in: Self.namespace)
            await store.waitForBackgroundIndexing()
        }
        func passes() throws -> Int { try store.searchIndex.backgroundPasses.load(ordering: .relaxed) }
        // 999 rows pending, then a write of 1,000; 1,999 pending, then a write of 999: no pass.
        try await batch("a", size - 1)
        try await batch("b", size)
        try await batch("c", size - 1)
        #expect(try passes() == 0)
        #expect(try SearchIndexingTests.indexState(path) == (pending: 3 * size - 2, indexed: 0))
        // 2,998 pending, then a write of 1,000: one pass, over the rows written before it (and
        // the write's own, if its commit came first; nothing else runs here).
        try await batch("d", size)
        #expect(try passes() == 1)
        let state = try SearchIndexingTests.indexState(path)
        #expect(state.indexed >= 3 * size - 2 && state.pending + state.indexed == 4 * size - 2, "\(state)")
        // A search indexes the rest first.
        #expect(try await Self.keys(store, "gnu c/998", limit: 1) == ["c/998"])
        #expect(try await Self.keys(store, "gnu d/999", limit: 1) == ["d/999"])
        try SearchIndexingTests.checkIndex(path)
        try await store.close()
    }

    /// A closing store leaves the index behind by fewer than ``SQLiteSearchIndexing/catchUpThreshold``
    /// rows to the next pass, and catches it up when its writes (with those other stores left)
    /// make 4,096 or more; a search still finds every row either way.
    @Test func aCloseLeavesFewerThanTheThresholdToTheNextPass() async throws {
        let path = try SearchIndexingTests.temporaryPath()
        let namespace = Self.namespace
        let threshold = SQLiteSearchIndexing.catchUpThreshold
        let first = try SQLiteMemoryStore(path: path, synchronous: .normal, idleIndexMerge: nil)
        try await first.put("first/0", value: "yak", in: namespace)
        try await first.close()
        #expect(try SearchIndexingTests.indexState(path) == (pending: 1, indexed: 0))
        let second = try SQLiteMemoryStore(path: path, synchronous: .normal, idleIndexMerge: nil)
        try await second.batch((0..<(threshold - 2)).map { .put(key: MemoryKey(checked: "second/\($0)"), value: "zebu") }, in: namespace)
        let secondIndex = try second.searchIndex
        try await second.close()
        #expect(try SearchIndexingTests.indexState(path) == (pending: threshold - 1, indexed: 0))
        #expect(secondIndex.passes.load(ordering: .relaxed) == 0)
        // One more row: the close finds the index 4,096 rows behind, and catches it up.
        let third = try SQLiteMemoryStore(path: path, synchronous: .normal, idleIndexMerge: nil)
        try await third.put("third/0", value: "yak", in: namespace)
        let thirdIndex = try third.searchIndex
        try await third.close()
        #expect(thirdIndex.passes.load(ordering: .relaxed) == 1)
        #expect(try SearchIndexingTests.indexState(path) == (pending: 0, indexed: threshold))
        try SearchIndexingTests.checkIndex(path)
        // Below the threshold again; the next search indexes the rows left.
        let fourth = try SQLiteMemoryStore(path: path, synchronous: .normal, idleIndexMerge: nil)
        try await fourth.put("fourth/0", value: "yak", in: namespace)
        try await fourth.close()
        #expect(try SearchIndexingTests.indexState(path) == (pending: 1, indexed: threshold))
        let searcher = try SQLiteMemoryStore(path: path, idleIndexMerge: nil)
        #expect(try await Self.keys(searcher, "yak", limit: 10).sorted() == ["first/0", "fourth/0", "third/0"])
        try await searcher.close()
        try SearchIndexingTests.checkIndex(path)
    }

    /// Two stores on one file (as two processes): rows one notes, the other's search catches
    /// up on, and either one's writes keep the other's notes exact.
    @Test func anotherStoreOnTheFileCatchesUp() async throws {
        let path = try SearchIndexingTests.temporaryPath()
        let first = try SQLiteMemoryStore(path: path, idleIndexMerge: nil)
        let second = try SQLiteMemoryStore(path: path, idleIndexMerge: nil)
        let namespace = Self.namespace
        try await first.put("shared", value: "heron", in: namespace)
        #expect(try await Self.keys(second, "heron") == ["shared"])
        try await first.put("shared", value: "ibis", in: namespace)
        try await second.put("shared", value: "jacana", in: namespace)
        try await first.put("other", value: "kestrel", in: namespace)
        #expect(try await Self.keys(first, "heron ibis").isEmpty)
        #expect(try await Self.keys(second, "jacana") == ["shared"])
        #expect(try await Self.keys(second, "kestrel") == ["other"])
        try await second.close()
        try await first.close()
        try SearchIndexingTests.checkIndex(path)
    }
}

/// What the tasks of a race share: the keys whose puts returned, and the searches made.
final class Race: Sendable {
    let returned = Locked(Set<String>())
    /// Searches that began before the last put returned.
    let searches = Atomic(0)
}
