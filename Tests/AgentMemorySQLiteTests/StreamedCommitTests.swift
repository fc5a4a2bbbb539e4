import AgentMemoryCore
import AgentMemoryJSON
import Foundation
import Synchronization
import Testing

@testable import AgentMemorySQLite
import TestScratch

/// A staged batch of ``StagedBatch/streamedPart`` writes or more on SQLite begins a streamed
/// commit: the store writes its plans, a part at a time, in a transaction of its own thread
/// while the batch stages the rest. What it commits is what a commit of the whole batch
/// commits (the in-memory store's, which commits the plans together); a conflict in any part
/// writes nothing; a batch dropped unfinished rolls back; writes that come meanwhile wait
/// and are committed after it.
@Suite("SQLite: streamed commits")
struct StreamedCommitTests {
    static let namespace = try! Namespace("streamed")
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    /// 700 writes (two parts of 256 and the rest): new keys, updates and deletes of seeded
    /// keys (and deletes of keys not written yet), a key written in the first part and again in
    /// the third, and appends to one key in every part.
    static func operations() throws -> [MemoryOperation] {
        try (0..<700).map { index -> MemoryOperation in
            switch index % 10 {
            case 3: return .put(key: try MemoryKey("old/\(index / 10)"), value: .string("updated \(index)"), options: .none)
            case 7: return .delete(key: try MemoryKey("old/\(index / 10 + 25)"))
            case 9: return .append(key: "list", value: .string("item \(index)"))
            default:
                let key = index == 601 ? "new/5" : "new/\(index)"
                return .put(key: try MemoryKey(key), value: .string("value \(index) about walruses"), options: .none)
            }
        }
    }

    static func seed(_ store: any MemoryStore) async throws {
        for index in 0..<50 { try await store.put(try MemoryKey("old/\(index)"), value: .string("seeded \(index)"), in: namespace) }
    }

    /// Stages every operation in one batch and returns the outcomes, before the commit.
    static func stage(_ operations: [MemoryOperation], on store: any MemoryStore) async throws -> (StagedBatch, [WriteOutcome]) {
        let batch = StagedBatch(store: store, namespace: namespace, now: now)
        try await batch.prefetch(operations.map(\.key))
        var outcomes: [WriteOutcome] = []
        for operation in operations { outcomes.append(try await batch.stage(operation)) }
        return (batch, outcomes)
    }

    /// Every record and change of the namespace, as text.
    static func contents(_ store: any MemoryStore) async throws -> [String] {
        let records = try await store.allRecords(in: namespace).map { "\($0.key) v\($0.version) \($0.value.jsonString())" }
        let changes = try await store.changes(in: namespace, since: 0, limit: 1_000).map {
            "\($0.sequence) \($0.operation.rawValue) \($0.key) v\($0.version)"
        }
        return records + changes
    }

    static func store(at path: String) throws -> SQLiteMemoryStore {
        try SQLiteMemoryStore(path: path, clock: { now })
    }

    @Test func aStreamedCommitWritesWhatACommitOfTheWholeBatchWrites() async throws {
        let path = Scratch.file("streamed")
        let sqlite = try Self.store(at: path)
        let memory = InMemoryMemoryStore(clock: { Self.now })
        try await Self.seed(sqlite)
        try await Self.seed(memory)
        let operations = try Self.operations()

        let (streamed, streamedOutcomes) = try await Self.stage(operations, on: sqlite)
        // The stream began at the 256th plan and holds its parts uncommitted: another
        // connection sees none of them yet.
        #expect(try sqlite.writer.aloneBegun.load(ordering: .relaxed) == 1)
        let other = try SQLiteMemoryStore(path: path, busyTimeout: .milliseconds(20), clock: { Self.now })
        #expect(try await other.get("new/0", in: Self.namespace) == nil)
        #expect(try await other.get("old/0", in: Self.namespace)?.value == .string("seeded 0"))
        // It holds the file's write lock from its first part (the README says so): another
        // process's write waits out its busy timeout, and fails. The stream's thread takes the
        // lock once it runs, which a loaded machine may delay (a CI run's write got in first).
        let deadline = ContinuousClock.now + .seconds(60)
        while try sqlite.writer.aloneLocked.load(ordering: .relaxed) < 1, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(1))
        }
        #expect(try sqlite.writer.aloneLocked.load(ordering: .relaxed) == 1)
        await #expect(throws: MemoryError.self) { try await other.put("elsewhere", value: .string("x"), in: Self.namespace) }
        try await streamed.commit()
        _ = try await other.put("elsewhere", value: .string("after the commit"), in: Self.namespace)
        try await other.close()

        let (together, togetherOutcomes) = try await Self.stage(operations, on: memory)
        try await together.commit()
        _ = try await memory.put("elsewhere", value: .string("after the commit"), in: Self.namespace)

        #expect(streamedOutcomes == togetherOutcomes)
        let contents = try await Self.contents(sqlite)
        #expect(contents == (try await Self.contents(memory)))
        #expect(try await sqlite.get("new/5", in: Self.namespace)?.value == .string("value 601 about walruses"))
        let list = try await sqlite.get("list", in: Self.namespace)
        #expect(list?.version == 70)
        #expect(list?.value == .array(stride(from: 9, to: 700, by: 10).map { .string("item \($0)") }))
        // The full-text index was told of every part's rows.
        let hits = try await sqlite.search("walruses", in: Self.namespace, limit: 1_000).map(\.record.key)
        #expect(Set(hits) == Set(try await memory.search("walruses", in: Self.namespace, limit: 1_000).map(\.record.key)))
        #expect(hits.count == 489)
        try await sqlite.close()
    }

    /// A key changed by another connection after the batch read it conflicts in its part
    /// (`old/3`, the 4th write, is in the first; `new/300`, the 301st, in the second, after
    /// the first was written): the whole transaction rolls back, and the writer is free again.
    @Test(arguments: ["old/3", "new/300"])
    func aConflictInAnyPartWritesNothing(changed: String) async throws {
        let path = Scratch.file("streamed-conflict")
        let store = try Self.store(at: path)
        try await Self.seed(store)
        let operations = try Self.operations()
        let batch = StagedBatch(store: store, namespace: Self.namespace, now: Self.now)
        try await batch.prefetch(operations.map(\.key))
        let colleague = try Self.store(at: path)
        try await colleague.put(try MemoryKey(changed), value: .string("the colleague's"), in: Self.namespace)
        try await colleague.close()
        for operation in operations { try await batch.stage(operation) }
        #expect(try store.writer.aloneBegun.load(ordering: .relaxed) == 1)
        do {
            try await batch.commit()
            Issue.record("the batch committed over a newer version")
        } catch let error as MemoryError {
            #expect(error.code == .versionConflict)
        }
        // Emptied: a second commit commits nothing.
        try await batch.commit()
        #expect(try await store.get("new/0", in: Self.namespace) == nil)
        #expect(try await store.get("list", in: Self.namespace) == nil)
        #expect(try await store.get("old/1", in: Self.namespace)?.value == .string("seeded 1"))
        #expect(try await store.get(try MemoryKey(changed), in: Self.namespace)?.value == .string("the colleague's"))
        #expect(try await store.changes(in: Self.namespace, since: 0, limit: 100).count == 51)
        try await store.put("after", value: .string("x"), in: Self.namespace)
        #expect(try await store.get("after", in: Self.namespace)?.version == 1)
        try await store.close()
    }

    /// A batch dropped before its commit rolls the streamed transaction back and lets the
    /// writer go; a write that queued behind it meanwhile is then committed.
    @Test func aDroppedBatchRollsBackAndTheWritesQueuedBehindItCommit() async throws {
        let store = try Self.store(at: Scratch.file("streamed-dropped"))
        try await Self.seed(store)
        let operations = try Array(Self.operations().prefix(300))
        var batch: StagedBatch? = StagedBatch(store: store, namespace: Self.namespace, now: Self.now)
        for operation in operations { try await batch?.stage(operation) }
        #expect(try store.writer.aloneBegun.load(ordering: .relaxed) == 1)
        let queued = Task { try await store.put("queued", value: .string("behind the stream"), in: Self.namespace) }
        while try store.writer.queuedCount < 1 { try await Task.sleep(for: .milliseconds(1)) }
        batch = nil
        #expect(try await queued.value.version == 1)
        #expect(try await store.get("new/0", in: Self.namespace) == nil)
        #expect(try await store.get("old/3", in: Self.namespace)?.value == .string("seeded 3"))
        #expect(try await store.changes(in: Self.namespace, since: 0, limit: 100).map(\.key).last == "queued")
        try await store.close()
    }

    /// A write of the same store that comes while a batch streams waits for the batch's
    /// commit and is numbered after it.
    @Test func aWriteDuringTheStreamIsCommittedAfterIt() async throws {
        let store = try Self.store(at: Scratch.file("streamed-queued"))
        try await Self.seed(store)
        let operations = try Self.operations()
        let batch = StagedBatch(store: store, namespace: Self.namespace, now: Self.now)
        for operation in operations.prefix(300) { try await batch.stage(operation) }
        let queued = Task { try await store.put("new/0", value: .string("after the batch"), in: Self.namespace) }
        while try store.writer.queuedCount < 1 { try await Task.sleep(for: .milliseconds(1)) }
        for operation in operations.dropFirst(300) { try await batch.stage(operation) }
        try await batch.commit()
        let record = try await queued.value
        #expect(record.version == 2)
        let log = try await store.changes(in: Self.namespace, since: 0, limit: 1_000)
        #expect(log.last.map { "\($0.key) v\($0.version)" } == "new/0 v2")
        // The seeds, the batch's writes but its 45 deletes of keys absent then, the put.
        let logged: Int = 50 + 700 - 45 + 1
        #expect(log.count == logged)
        try await store.close()
    }

    /// Fewer plans than a part commit together, without a stream; so does a store that is
    /// writing when the batch would begin one (the batch asks once).
    @Test func smallBatchesAndBusyWritersCommitTogether() async throws {
        let store = try Self.store(at: Scratch.file("streamed-small"))
        let small = StagedBatch(store: store, namespace: Self.namespace, now: Self.now)
        for index in 0..<(StagedBatch.streamedPart - 1) {
            try await small.stage(.put(key: try MemoryKey("k/\(index)"), value: .string("\(index)"), options: .none))
        }
        try await small.commit()
        #expect(try store.writer.aloneBegun.load(ordering: .relaxed) == 0)
        #expect(try await store.allRecords(in: Self.namespace).count == StagedBatch.streamedPart - 1)

        // A write holds the writer while the batch stages: the batch never streams.
        let busy = StagedBatch(store: store, namespace: Self.namespace, now: Self.now)
        try await GroupedWritesTests.queueBehindAHeldWrite(store, count: 0) {
            for index in 0..<300 {
                try await busy.stage(.put(key: try MemoryKey("b/\(index)"), value: .string("\(index)"), options: .none))
            }
        }
        #expect(try store.writer.aloneBegun.load(ordering: .relaxed) == 0)
        try await busy.commit()
        #expect(try await store.allRecords(in: Self.namespace, prefix: "b/").count == 300)
        #expect(store.streamedCommit(in: Self.namespace) != nil)
        try await store.close()
        #expect(store.streamedCommit(in: Self.namespace) == nil)
    }
}
