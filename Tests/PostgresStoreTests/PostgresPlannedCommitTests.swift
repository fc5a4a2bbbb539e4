import AgentMemoryCore
import AgentMemoryJSON
import AgentMemoryPostgres
import Foundation
import Testing

/// A staged batch (the executor's turn) commits without reading its rows again: the write
/// statement checks each key against the row the batch planned against, its version and its
/// times. These tests move keys between the batch's read and its commit and check that the
/// planned write then writes nothing and the commit goes the way it went before (the rows
/// read, the version check), and that a batch nothing moved under commits with no fallback
/// at all, which also shows that the times checked are exactly the database's.
@Suite(
    "PostgreSQL store: staged batches committed as planned", .serialized,
    .enabled(if: TestServer.url != nil, "PostgreSQL tests skipped: AGENT_MEMORY_TEST_POSTGRES_URL is not set"))
struct PostgresPlannedCommitTests {
    let main = try! Namespace("main")

    @Test func aBatchNothingMovedUnderCommitsAsPlanned() async throws {
        try await withStore(plannedFallbacks: 0, lockFallbacks: 0) { store, _ in
            try await store.put("a", value: 0, in: main, options: PutOptions(author: "seed"))
            try await store.put("c", value: 0, in: main)
            let created = try #require(try await store.get("a", in: main)).createdAt
            let batch = StagedBatch(store: store, namespace: main, now: Date())
            try await batch.prefetch(["a", "b", "c"])
            try await batch.stage(.put(key: "a", value: 1, options: PutOptions(author: "us")))
            try await batch.stage(.put(key: "b", value: 2))
            try await batch.stage(.put(key: "a", value: 3, options: PutOptions(author: "us")))
            try await batch.stage(.delete(key: "c", author: "us"))
            try await batch.commit()
            let a = try #require(try await store.get("a", in: main))
            #expect(a.value == 3)
            #expect(a.version == 3)
            #expect(a.createdAt == created, "created_at kept")
            #expect(a.author == "us")
            #expect(try await store.get("b", in: main)?.version == 1)
            #expect(try await store.get("c", in: main) == nil)
            let changes = try await store.changes(in: main, since: 0, limit: 10)
            #expect(changes.map(\.sequence) == [1, 2, 3, 4, 5, 6])
            #expect(changes.map(\.key) == ["a", "c", "a", "b", "a", "c"])
            #expect(changes.map(\.version) == [1, 1, 2, 1, 3, 1])
            #expect(changes.map(\.operation) == [.put, .put, .put, .put, .put, .delete])
        }
    }

    @Test func aKeyUpdatedAfterTheBatchReadItIsAVersionConflict() async throws {
        try await withStore(plannedFallbacks: 1, lockFallbacks: 0) { store, schema in
            try await store.put("a", value: 0, in: main)
            let batch = StagedBatch(store: store, namespace: main, now: Date())
            try await batch.prefetch(["a", "b"])
            try await batch.stage(.put(key: "a", value: 1))
            try await batch.stage(.put(key: "b", value: 1))
            try await withOtherStore(schema: schema) { other in
                try await other.put("a", value: "other", in: main)
            }
            await #expect(throws: MemoryError.self) { try await batch.commit() }
            #expect(try await store.get("a", in: main)?.value == "other")
            #expect(try await store.get("b", in: main) == nil, "nothing of the batch written")
            #expect(try await store.changes(in: main, since: 0, limit: 10).count == 2)
        }
    }

    @Test func aKeyCreatedAfterTheBatchFoundItAbsentIsAVersionConflict() async throws {
        try await withStore(plannedFallbacks: 1, lockFallbacks: 0) { store, schema in
            let batch = StagedBatch(store: store, namespace: main, now: Date())
            try await batch.prefetch(["a"])
            try await batch.stage(.put(key: "a", value: 1))
            try await withOtherStore(schema: schema) { other in
                try await other.put("a", value: "other", in: main)
            }
            await #expect(throws: MemoryError.self) { try await batch.commit() }
            #expect(try await store.get("a", in: main)?.value == "other")
        }
    }

    /// The row deleted and written again keeps its version (1) but not its creation time: the
    /// planned write does not take it for the row the batch read. (The read at commit checks
    /// versions only, and writes the plan over it, as before.)
    @Test func aKeyDeletedAndWrittenAgainAtTheSameVersionIsNotTakenForTheRowRead() async throws {
        try await withStore(plannedFallbacks: 1, lockFallbacks: 0) { store, schema in
            try await store.put("a", value: 0, in: main)
            let batch = StagedBatch(store: store, namespace: main, now: Date())
            try await batch.prefetch(["a"])
            try await batch.stage(.put(key: "a", value: 1))
            try await withOtherStore(schema: schema) { other in
                try await other.delete("a", in: main)
                try await other.put("a", value: "again", in: main)
            }
            #expect(try await store.get("a", in: main)?.version == 1)
            try await batch.commit()
            let a = try #require(try await store.get("a", in: main))
            #expect(a.value == 1)
            #expect(a.version == 2)
        }
    }

    /// A row with an expiry may expire between the batch's read and its commit, which only a
    /// read at commit sees: such a batch reads its rows again, and writes as before.
    @Test func aRowWithAnExpiryIsReadAgainAtCommit() async throws {
        try await withStore(plannedFallbacks: 1, lockFallbacks: 0) { store, _ in
            try await store.put("a", value: 0, in: main, options: PutOptions(ttl: .seconds(3_600)))
            let batch = StagedBatch(store: store, namespace: main, now: Date())
            try await batch.prefetch(["a"])
            try await batch.stage(.put(key: "a", value: 1))
            try await batch.commit()
            let a = try #require(try await store.get("a", in: main))
            #expect(a.value == 1)
            #expect(a.version == 2)
            #expect(a.expiresAt == nil, "a put without a ttl clears the expiry")
        }
    }

    /// A store of its own, logging to a handler the test reads: `plannedFallbacks` counts the
    /// planned writes that found a row moved (or could not be planned) and read the rows again,
    /// `lockFallbacks` the writes that then fell back to the namespace lock.
    private func withStore(
        plannedFallbacks: Int, lockFallbacks: Int, _ body: (PostgresMemoryStore, String) async throws -> Void
    ) async throws {
        let messages = try await TestServer.withLoggingStore { store, schema, _ in try await body(store, schema) }
        #expect(messages.filter { $0.hasPrefix("planned write read its rows again") }.count == plannedFallbacks)
        #expect(messages.filter { $0.hasPrefix("optimistic write fell back to the namespace lock") }.count == lockFallbacks)
    }

    /// Another store on the same schema (another process of the crew).
    private func withOtherStore(schema: String, _ body: (PostgresMemoryStore) async throws -> Void) async throws {
        let other = try TestServer.store(schema: schema)
        do {
            try await body(other)
        } catch {
            try? await other.close()
            throw error
        }
        try await other.close()
    }
}
