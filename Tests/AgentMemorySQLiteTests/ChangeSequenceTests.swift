import AgentMemoryCore
import AgentMemoryJSON
import Foundation
import Testing

@testable import AgentMemorySQLite

/// Change-log numbers come from the log itself (its newest entry, or the floor pruning leaves in
/// `memory_namespaces`): they follow commit order and never go back, even when every entry of
/// a namespace has been pruned.
@Suite("SQLite change sequences")
struct ChangeSequenceTests {
    @Test func numbersGoOnAfterEveryEntryWasPruned() async throws {
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        let now = Locked(start)
        let path = try SearchIndexingTests.temporaryPath()
        let store = try SQLiteMemoryStore(
            path: path, retention: ChangeLogRetention(maxAge: .seconds(60), maxEntriesPerNamespace: nil),
            clock: { now.withLock { $0 } })
        let namespace = try Namespace("main")
        for index in 0..<4 { try await store.put(MemoryKey(checked: "k\(index)"), value: .int(index), in: namespace) }
        now.withLock { $0 = start.addingTimeInterval(600) }
        try await store.pruneChangeLog()
        #expect(try await store.changes(in: namespace, since: 0, limit: 10).isEmpty)
        try await store.put("late", value: 1, in: namespace)
        #expect(try await store.changes(in: namespace, since: 0, limit: 10).map(\.sequence) == [5])
        try await store.close()
        // Another store on the file (another process) numbers after it too.
        let reopened = try SQLiteMemoryStore(path: path)
        try await reopened.batch([.put(key: "a", value: 1), .delete(key: "late")], in: namespace)
        #expect(try await reopened.changes(in: namespace, since: 0, limit: 10).map(\.sequence) == [5, 6, 7])
        try await reopened.close()
    }

    @Test func namespacesAreNumberedApartAndConcurrentWritesGetDistinctNumbers() async throws {
        let store = try SQLiteMemoryStore(path: try SearchIndexingTests.temporaryPath())
        let first = try Namespace("first")
        let second = try Namespace("second")
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<40 {
                group.addTask {
                    try await store.put(MemoryKey(checked: "k\(index)"), value: .int(index), in: index.isMultiple(of: 2) ? first : second)
                }
            }
            try await group.waitForAll()
        }
        #expect(try await store.changes(in: first, since: 0, limit: 100).map(\.sequence) == Array(1...20))
        #expect(try await store.changes(in: second, since: 0, limit: 100).map(\.sequence) == Array(1...20))
        try await store.close()
    }
    /// Pruning reaches every namespace of the log (found by a skip scan, not a read of every
    /// entry), drops by age oldest first in number order up to the first entry young enough,
    /// and by count keeps each namespace's newest entries.
    @Test func pruningReachesEveryNamespaceByAgeInNumberOrderAndByCount() async throws {
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        let now = Locked(start)
        let path = try SearchIndexingTests.temporaryPath()
        let store = try SQLiteMemoryStore(
            path: path, retention: ChangeLogRetention(maxAge: .seconds(60), maxEntriesPerNamespace: 5),
            clock: { now.withLock { $0 } })
        let names = ["a", "a.b", "B", "x:y", "zz-last"]
        let namespaces = try names.map { try Namespace($0) }
        // Times 0, 10, ..., 70 s in every namespace; then the clock goes back for a ninth entry.
        for step in 0..<8 {
            now.withLock { $0 = start.addingTimeInterval(Double(step) * 10) }
            for namespace in namespaces { try await store.put(MemoryKey(checked: "k\(step)"), value: .int(step), in: namespace) }
        }
        now.withLock { $0 = start.addingTimeInterval(5) }
        for namespace in namespaces { try await store.put("back", value: 0, in: namespace) }
        // At 100 s the cutoff is 40 s: entries 1 to 4 (0 to 30 s) go by age; by count the
        // newest five (5 to 9) stay, so nothing more goes; entry 9 (at 5 s, after the clock
        // went back) is kept, numbered after entries still young.
        now.withLock { $0 = start.addingTimeInterval(100) }
        try await store.pruneChangeLog()
        for namespace in namespaces {
            #expect(try await store.changes(in: namespace, since: 0, limit: 100).map(\.sequence) == [5, 6, 7, 8, 9], "\(namespace.name)")
        }
        // At 200 s everything is older than the cutoff, in every namespace, and numbers go on.
        now.withLock { $0 = start.addingTimeInterval(200) }
        try await store.pruneChangeLog()
        for namespace in namespaces {
            #expect(try await store.changes(in: namespace, since: 0, limit: 100).isEmpty, "\(namespace.name)")
            try await store.put("after", value: 1, in: namespace)
            #expect(try await store.changes(in: namespace, since: 0, limit: 100).map(\.sequence) == [10], "\(namespace.name)")
        }
        try await store.close()
    }

    /// Writes prune the log themselves every ``SQLiteMemoryStore/pruneInterval(for:)`` writes of
    /// the process: a 64th of the entry limit, between 1,000 and 16,384.
    @Test func writesPruneTheLogEveryIntervalOfWrites() async throws {
        #expect(SQLiteMemoryStore.pruneInterval(for: .default) == 15_625)
        #expect(SQLiteMemoryStore.pruneInterval(for: .forever) == 16_384)
        #expect(SQLiteMemoryStore.pruneInterval(for: ChangeLogRetention(maxAge: .seconds(60), maxEntriesPerNamespace: nil)) == 16_384)
        #expect(SQLiteMemoryStore.pruneInterval(for: ChangeLogRetention(maxEntriesPerNamespace: 5)) == 1_000)
        #expect(SQLiteMemoryStore.pruneInterval(for: ChangeLogRetention(maxEntriesPerNamespace: 200_000)) == 3_125)
        #expect(SQLiteMemoryStore.pruneInterval(for: ChangeLogRetention(maxEntriesPerNamespace: 10_000_000)) == 16_384)

        let store = try SQLiteMemoryStore(
            path: try SearchIndexingTests.temporaryPath(), retention: ChangeLogRetention(maxAge: nil, maxEntriesPerNamespace: 5))
        let namespace = try Namespace("prune")
        try await store.batch((0..<999).map { .put(key: MemoryKey(checked: "k\($0)"), value: .int($0)) }, in: namespace)
        #expect(try await store.changes(in: namespace, since: 0, limit: 2_000).count == 999, "no prune before the 1,000th write")
        try await store.put("k999", value: 999, in: namespace)
        #expect(try await store.changes(in: namespace, since: 0, limit: 2_000).map(\.sequence) == [996, 997, 998, 999, 1_000])
        try await store.close()
    }
}
