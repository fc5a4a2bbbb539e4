import AgentMemoryCore
import AgentMemoryJSON
import Foundation
import GRDB
import Synchronization
import Testing

@testable import AgentMemorySQLite

/// ``SQLiteIndexMerger`` merges the full-text index while the store's writes rest: the index
/// ends in one segment with every answer as before, a write stops a merge that the next quiet
/// period finishes, nothing written is lost, and closing waits for the step in progress.
@Suite("SQLite idle index merge")
struct IndexMergerTests {
    private static let words = ["lunch", "budget", "review", "coffee", "deadline", "client", "travel", "quokka"]

    /// A store without a merger of its own, written in 24 indexed transactions of 40 records (each a
    /// segment of its own; FTS5 merges some of them).
    private static func segmentedStore() async throws -> (SQLiteMemoryStore, Namespace) {
        let store = try SQLiteMemoryStore(path: try SearchIndexingTests.temporaryPath(), idleIndexMerge: nil)
        let namespace = try Namespace("merger")
        for round in 0..<24 {
            try await store.batch((0..<40).map { index in
                let text = (0..<(3 + index % 5)).map { words[($0 * 3 + index + round) % words.count] }.joined(separator: " ")
                return .put(key: MemoryKey(checked: "n/\(round)/\(index)"), value: .string(text))
            }, in: namespace)
            try await store.catchUpSearchIndex()
        }
        return (store, namespace)
    }

    private static func segments(_ store: SQLiteMemoryStore) async throws -> Int {
        try await store.read { db in try SQLiteSearchIndexing.segmentCount(db) }
    }

    private static func answers(_ store: SQLiteMemoryStore, _ namespace: Namespace) async throws -> [[String]] {
        var answers: [[String]] = []
        for query in ["lunch", "budget review", "coffee deadline client", "quokka travel"] {
            answers.append(try await store.search(query, in: namespace, limit: 10).map { "\($0.record.key) \($0.score)" })
        }
        return answers
    }

    /// Waits (up to 60 s) until `condition` holds.
    private static func eventually(_ condition: () async throws -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(20))
        }
        return try await condition()
    }

    /// A merger that merges as soon as the writer has rested 50 ms, in steps of `pages`.
    private static func merger(_ store: SQLiteMemoryStore, pages: Int = 50) throws -> SQLiteIndexMerger {
        try SQLiteIndexMerger(
            index: store.searchIndex, writer: try store.writer,
            policy: SQLiteIndexMerger.Policy(idle: .milliseconds(50), pagesPerStep: pages, minimumPages: 1))
    }

    @Test func theStructureRecordGivesEachSegmentsPagesAndThePolicyWeighsThem() async throws {
        let (store, _) = try await Self.segmentedStore()
        let pages = try #require(try await store.read { db in try SQLiteSearchIndexing.segmentPages(db) })
        #expect(pages.count == (try await Self.segments(store)))
        #expect(pages.count > 1)
        #expect(pages.allSatisfy { $0 >= 1 })
        try await store.close()
        let policy = SQLiteIndexMerger.Policy(idle: .seconds(2))
        #expect(!SQLiteIndexMerger.worthMerging([], policy: policy))
        #expect(!SQLiteIndexMerger.worthMerging([5_000], policy: policy))
        // Too few pages outside the largest segment, then too small a share of the whole.
        #expect(!SQLiteIndexMerger.worthMerging([1_000, 200, 55], policy: policy))
        #expect(SQLiteIndexMerger.worthMerging([1_000, 200, 56], policy: policy))
        #expect(!SQLiteIndexMerger.worthMerging([10_000, 500, 500], policy: policy))
        #expect(SQLiteIndexMerger.worthMerging([10_000, 600, 600], policy: policy))
    }

    @Test func aRestingWriterLetsTheIndexBeMergedWithTheSameAnswers() async throws {
        let (store, namespace) = try await Self.segmentedStore()
        let before = try await Self.answers(store, namespace)
        #expect(try await Self.segments(store) > 1)
        let merger = try Self.merger(store)
        #expect(try await Self.eventually { merger.completedMerges.load(ordering: .relaxed) == 1 })
        #expect(try await Self.segments(store) == 1)
        #expect(try await Self.answers(store, namespace) == before)
        // Nothing more to do: the next quiet periods leave the index alone.
        let steps = merger.steps.load(ordering: .relaxed)
        #expect(steps >= 2)
        try await Task.sleep(for: .milliseconds(300))
        #expect(merger.steps.load(ordering: .relaxed) == steps)
        merger.close()
        try await store.close()
    }

    @Test func aWriteStopsAMergeThatTheNextQuietPeriodFinishesAndNothingIsLost() async throws {
        let (store, namespace) = try await Self.segmentedStore()
        // After the merge's first step, a put (through the store's writer, as any write): the
        // merge stops at once and goes on when the writer has rested again.
        let merger = try SQLiteIndexMerger(
            index: store.searchIndex, writer: store.writer,
            policy: SQLiteIndexMerger.Policy(idle: .milliseconds(50), pagesPerStep: 1, minimumPages: 1),
            afterStep: { step in
                guard step == 1 else { return }
                let written = DispatchSemaphore(value: 0)
                Task {
                    _ = try? await store.put(MemoryKey(checked: "during"), value: .string("zebra during"), in: namespace)
                    written.signal()
                }
                written.wait()
            })
        #expect(try await Self.eventually { merger.completedMerges.load(ordering: .relaxed) == 1 })
        #expect(merger.interruptions.load(ordering: .relaxed) == 1)
        #expect(merger.steps.load(ordering: .relaxed) > 1)
        #expect(try await Self.segments(store) == 1)
        merger.close()
        #expect(try await store.get(MemoryKey(checked: "during"), in: namespace)?.value == .string("zebra during"))
        #expect(try await store.search("zebra", in: namespace, limit: 10).map(\.record.key) == ["during"])
        #expect(try await store.list(in: namespace, prefix: "n/", cursor: nil, limit: 1_000).records.count == 24 * 40)
        // FTS5's own check of the index against the records.
        try await SearchIndexingTests.checkIndex(store)
        try await store.close()
    }

    @Test func closingWaitsForTheStepInProgressAndLeavesASoundIndex() async throws {
        let (store, namespace) = try await Self.segmentedStore()
        let before = try await Self.answers(store, namespace)
        let merger = try Self.merger(store, pages: 1)
        #expect(try await Self.eventually { merger.steps.load(ordering: .relaxed) > 0 })
        merger.close()
        let steps = merger.steps.load(ordering: .relaxed)
        try await Task.sleep(for: .milliseconds(200))
        #expect(merger.steps.load(ordering: .relaxed) == steps)
        try await store.close()
        let reopened = try SQLiteMemoryStore(path: store.path, idleIndexMerge: nil)
        try await SearchIndexingTests.checkIndex(reopened)
        #expect(try await Self.answers(reopened, namespace) == before)
        try await reopened.close()
    }

    /// Rows written below the catch-up threshold wait for the index; a store whose writes rest
    /// indexes them on its own (a FULL store and a NORMAL one), so a search after the rest has
    /// nothing to catch up on, and a store without a merger leaves them for the next search.
    @Test(arguments: [SQLiteMemoryStore.Synchronous.full, .normal])
    func aRestIndexesTheRowsStillPending(_ synchronous: SQLiteMemoryStore.Synchronous) async throws {
        let namespace = try Namespace("rest")
        let puts: [MemoryOperation] = (0..<100).map { .put(key: MemoryKey(checked: "r/\($0)"), value: .string("okapi \($0)")) }
        let resting = try SQLiteMemoryStore(
            path: try SearchIndexingTests.temporaryPath(), synchronous: synchronous, idleIndexMerge: .milliseconds(50))
        try await resting.batch(puts, in: namespace)
        try await resting.put("r/last", value: .string("okapi last"), in: namespace)
        let merger = try #require(try resting.indexMerger)
        // Waited for by its result: a slow run (a sanitizer's) can rest before the first write
        // too, and catch up on the empty file first.
        #expect(try await Self.eventually { try SearchIndexingTests.indexState(resting.path) == (pending: 0, indexed: 101) })
        let catchUps = merger.catchUps.load(ordering: .relaxed)
        #expect(catchUps >= 1)
        try SearchIndexingTests.checkIndex(resting.path)
        #expect(try await resting.search("okapi last", in: namespace, limit: 1).map(\.record.key) == ["r/last"])
        // Rested and nothing new written: no further catch-up.
        try await Task.sleep(for: .milliseconds(200))
        #expect(merger.catchUps.load(ordering: .relaxed) == catchUps)
        try await resting.close()

        let never = try SQLiteMemoryStore(path: try SearchIndexingTests.temporaryPath(), synchronous: synchronous, idleIndexMerge: nil)
        try await never.batch(puts, in: namespace)
        try await Task.sleep(for: .milliseconds(200))
        #expect(try SearchIndexingTests.indexState(never.path) == (pending: 100, indexed: 0))
        #expect(try await never.search("okapi", in: namespace, limit: 200).count == 100)
        #expect(try SearchIndexingTests.indexState(never.path) == (pending: 0, indexed: 100))
        try await never.close()
    }

    @Test func theStoreMergesWhenAskedAndNotOtherwise() async throws {
        let path = try SearchIndexingTests.temporaryPath()
        let merging = try SQLiteMemoryStore(path: path, idleIndexMerge: .milliseconds(300))
        #expect(try merging.indexMerger?.policy.idle == .milliseconds(300))
        #expect(try merging.indexMerger?.policy.minimumPages == 256)
        try await merging.close()
        let byDefault = try SQLiteMemoryStore(path: path)
        // The README's defaults: 2 s of rest, steps of 50 pages, once a tenth of the index and
        // at least 256 pages lie outside its largest segment.
        #expect(try byDefault.indexMerger?.policy.idle == .seconds(2))
        #expect(try byDefault.indexMerger?.policy.pagesPerStep == 50)
        #expect(try byDefault.indexMerger?.policy.share == 0.1)
        #expect(try byDefault.indexMerger?.policy.minimumPages == 256)
        try await byDefault.close()
        let never = try SQLiteMemoryStore(path: path, idleIndexMerge: nil)
        #expect(try never.indexMerger == nil)
        try await never.close()
    }
}
