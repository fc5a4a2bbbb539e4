import AgentMemoryCore
import AgentMemoryJSON
import Dispatch
import Foundation
import GRDB
import Synchronization
import Testing

@testable import AgentMemorySQLite

/// Writes that queue behind a transaction in progress commit together: first without
/// savepoints, sharing record writers (their rows inserted together at the end); when one of
/// them fails, the group runs again write by write, each in its own savepoint. Either way each
/// write's outcome, the records and the change log are what writes one after another give.
@Suite("SQLite: writes committed together")
struct GroupedWritesTests {
    static let first = try! Namespace("grouped-first")
    static let second = try! Namespace("grouped-second")

    /// Holds the store's writer in a transaction until `gate` is signalled, queues the writes
    /// `queue` starts, waits until `count` of them are queued, then lets the transaction end.
    static func queueBehindAHeldWrite(
        _ store: SQLiteMemoryStore, count: Int, _ queue: () async throws -> Void
    ) async throws {
        let gate = DispatchSemaphore(value: 0)
        let holding = Atomic(false)
        let holder = Task(executorPreference: HolderExecutor.shared) {
            try await store.write { _ in
                holding.store(true, ordering: .sequentiallyConsistent)
                gate.wait()
            }
        }
        while !holding.load(ordering: .sequentiallyConsistent) { try await Task.sleep(for: .milliseconds(1)) }
        try await queue()
        while try store.writer.queuedCount < count { try await Task.sleep(for: .milliseconds(1)) }
        gate.signal()
        try await holder.value
    }

    /// The sequence numbers and keys of a namespace's change log, oldest first.
    static func log(_ store: SQLiteMemoryStore, _ namespace: Namespace) async throws -> [String] {
        try await store.changes(in: namespace, since: 0, limit: 100).map { "\($0.sequence) \($0.operation.rawValue) \($0.key) v\($0.version)" }
    }

    @Test func writesOfSeveralNamespacesCommitTogetherAsIfOneAfterAnother() async throws {
        let store = try SQLiteMemoryStore(path: try SearchIndexingTests.temporaryPath())
        try await store.put("kept", value: .string("before"), in: Self.first)
        var tasks: [Task<MemoryRecord, any Error>] = []
        var batch: Task<[MemoryOperationResult], any Error>?
        try await Self.queueBehindAHeldWrite(store, count: 6) {
            // One at a time, so that they queue in this order.
            let writes: [(String, Namespace, String)] = [
                ("a", Self.first, "one"), ("b", Self.second, "two"), ("a", Self.first, "three"),
                ("kept", Self.first, "four"), ("c", Self.first, "five"),
            ]
            for (index, (key, namespace, text)) in writes.enumerated() {
                tasks.append(Task { try await store.put(MemoryKey(key), value: .string(text), in: namespace) })
                while try store.writer.queuedCount < index + 1 { try await Task.sleep(for: .milliseconds(1)) }
            }
            // A batch reads its keys ahead: it must see the rows the writes before it hold.
            batch = Task {
                try await store.batch([.put(key: "c", value: .string("six")), .put(key: "d", value: .string("seven"))], in: Self.first)
            }
        }
        var records: [MemoryRecord] = []
        for task in tasks { records.append(try await task.value) }
        #expect(records.map(\.version) == [1, 1, 2, 2, 1])
        let batchVersions = try await batch?.value.map { result -> Int? in
            if case .put(let record) = result { return record.version }
            return nil
        }
        #expect(batchVersions == [2, 1])
        #expect(try store.writer.groupsTogether.load(ordering: .relaxed) == 1)
        #expect(try store.writer.groupsRetried.load(ordering: .relaxed) == 0)
        #expect(try await store.get("a", in: Self.first)?.value == .string("three"))
        #expect(try await store.get("c", in: Self.first)?.value == .string("six"))
        #expect(try await store.get("kept", in: Self.first)?.value == .string("four"))
        #expect(try await store.get("b", in: Self.second)?.version == 1)
        #expect(try await Self.log(store, Self.first) == ["1 put kept v1", "2 put a v1", "3 put a v2", "4 put kept v2", "5 put c v1", "6 put c v2", "7 put d v1"])
        #expect(try await Self.log(store, Self.second) == ["1 put b v1"])
        #expect(try await store.search("three", in: Self.first, limit: 5).map(\.record.key) == ["a"])
        #expect(try await store.search("five", in: Self.first, limit: 5).isEmpty)
        try await store.close()
    }

    @Test func aWriteThatFailsTogetherFailsAloneWhenTheGroupRunsAgain() async throws {
        let store = try SQLiteMemoryStore(path: try SearchIndexingTests.temporaryPath())
        try await store.put("b", value: .string("first"), in: Self.first)
        var tasks: [Task<MemoryRecord, any Error>] = []
        try await Self.queueBehindAHeldWrite(store, count: 3) {
            let writes: [(String, PutOptions)] = [("a", .none), ("b", PutOptions(ifVersion: 7)), ("c", .none)]
            for (index, (key, options)) in writes.enumerated() {
                tasks.append(Task { try await store.put(MemoryKey(key), value: .string("new \(key)"), in: Self.first, options: options) })
                while try store.writer.queuedCount < index + 1 { try await Task.sleep(for: .milliseconds(1)) }
            }
        }
        #expect(try await tasks[0].value.version == 1)
        await #expect {
            _ = try await tasks[1].value
        } throws: { error in
            (error as? MemoryError)?.code == .versionConflict
        }
        #expect(try await tasks[2].value.version == 1)
        #expect(try store.writer.groupsTogether.load(ordering: .relaxed) == 0)
        #expect(try store.writer.groupsRetried.load(ordering: .relaxed) == 1)
        #expect(try await store.get("b", in: Self.first)?.value == .string("first"))
        // The failed first run left no number behind: the log goes on without a gap.
        #expect(try await Self.log(store, Self.first) == ["1 put b v1", "2 put a v1", "3 put c v1"])
        try await store.close()
    }

    /// A write alone commits on its own task's thread, but does not wait there for another
    /// connection's write lock (another process's, in use): its `BEGIN` tries once, and the
    /// transaction goes to GRDB's writer queue, whose thread waits for the lock; the write
    /// commits once the other connection lets go.
    @Test func aWriteAloneWaitsForAnotherConnectionsLockOnGRDBsQueue() async throws {
        let path = try SearchIndexingTests.temporaryPath()
        let store = try SQLiteMemoryStore(path: path)
        try await store.put("before", value: .string("first"), in: Self.first)
        // A connection of its own that keeps a transaction open between two accesses.
        var configuration = Configuration()
        configuration.allowsUnsafeTransactions = true
        let other = try DatabaseQueue(path: path, configuration: configuration)
        try await other.writeWithoutTransaction { db in try db.execute(sql: "BEGIN IMMEDIATE") }
        let write = Task { try await store.put("during", value: .string("second"), in: Self.first) }
        let deadline = ContinuousClock.now + .seconds(60)  // a hang guard: polled, so only a failure waits it out
        while try store.writer.lockedElsewhere.load(ordering: .relaxed) == 0 && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(2))
        }
        #expect(try store.writer.lockedElsewhere.load(ordering: .relaxed) == 1)
        try await other.writeWithoutTransaction { db in try db.execute(sql: "COMMIT") }
        #expect(try await write.value.version == 1)
        #expect(try await store.get("during", in: Self.first)?.value == .string("second"))
        try other.close()
        try await store.close()
    }
}
