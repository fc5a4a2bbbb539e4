import AgentMemoryCore
import AgentMemoryJSON
import Foundation
import Synchronization
import Testing

@testable import AgentMemorySQLite

/// The write-ahead log is checkpointed off the write path (``SQLiteCheckpointer``): the copy
/// runs on a connection of its own, the log still starts again from its beginning instead of
/// growing, and nothing written is lost or changed.
@Suite("SQLite: checkpoints in the background")
struct CheckpointerTests {
    static let namespace = try! Namespace("checkpoint")

    /// About 3 KB: each put writes a page or more of its own to the log.
    static func value(_ index: Int) -> JSONValue {
        .string(String(repeating: "a walk by the lake \(index). ", count: 120))
    }

    /// The size of the file at `path` in bytes (0 when it does not exist).
    static func size(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int) ?? 0
    }

    /// 2,000 puts write about 10,000 pages to the log. With no checkpoint the log would hold them
    /// all (about 13,800 pages, 56 MB); the background copies it and the log starts again, and
    /// should the background fall behind, writes wait for it and a commit copies the rest, so
    /// its file stays near 4,000 pages. Every put reads back after a reopen.
    @Test(arguments: [SQLiteMemoryStore.Synchronous.normal, .full])
    func theLogIsCopiedInTheBackgroundAndStartsAgain(synchronous: SQLiteMemoryStore.Synchronous) async throws {
        let path = try SearchIndexingTests.temporaryPath()
        let store = try SQLiteMemoryStore(path: path, synchronous: synchronous)
        let puts = 2_000
        var largestLog = 0
        for index in 0..<puts {
            try await store.put(try MemoryKey("note/\(index)"), value: Self.value(index), in: Self.namespace)
            largestLog = max(largestLog, Self.size(path + "-wal"))
        }
        let pageBytes = 4_096 + 24
        // Mutations: a background checkpoint that copies nothing (a connection that never read
        // does not see the log) leaves the copying to the commits and fails the first check;
        // no checkpoint at all fails the second (the log grows to every page written).
        #expect(store.checkpointer.backgroundCopies.load(ordering: .relaxed) > 0)
        // A commit past `inlineFrames` pages copies the log itself, and while the background's
        // copy still runs (its own checkpoint then copies nothing) the next writes wait for it:
        // without the wait a CI run under disk load saw 5,394 pages. A put here writes 2 or 3
        // pages, a catch-up of the full-text index a few hundred.
        #expect(largestLog < (Int(SQLiteCheckpointer.inlineFrames) + 500) * pageBytes, "the log grew to \(largestLog / pageBytes) pages")
        try await store.close()
        #expect(!FileManager.default.fileExists(atPath: path + "-wal"))

        let reopened = try SQLiteMemoryStore(path: path)
        for index in stride(from: 0, to: puts, by: 97) {
            #expect(try await reopened.get(try MemoryKey("note/\(index)"), in: Self.namespace)?.value == Self.value(index))
        }
        let page = try await reopened.list(in: Self.namespace, prefix: "note/", cursor: nil, limit: 1_000)
        #expect(page.records.count == 1_000 && page.nextCursor != nil)
        #expect(try await reopened.search("lake", in: Self.namespace, limit: 3).count == 3)
        try await reopened.close()
    }

    /// A background round held back (as on a machine whose every core is busy) while the writer
    /// goes on: the commit that takes the log to ``SQLiteCheckpointer/inlineFrames`` pages marks
    /// it behind, the next write waits, suspended, for the round to end, and the commit after it
    /// copies the rest, so the log's file stays at that size and starts again. The hold ends
    /// when the writes wait, or after 20 seconds for the first and 120 more for the others
    /// (then the first check fails). The hold comes
    /// before the background's copy takes SQLite's checkpoint lock, so the commit's own
    /// checkpoint beside it copies something; under disk load it copied nothing (the CI failure
    /// of 2026-12-03), which no test can stage from outside SQLite. This one shows that writes
    /// wait for a round that has fallen behind, and that the wait holds no thread: while more
    /// writes wait than Swift's cooperative pool has threads, a read of the store still answers
    /// (a wait that blocked its thread, as the reverted fix of round twenty-five did, starves it).
    @Test func writesWaitForABackgroundCopyThatFellBehind() async throws {
        let path = try SearchIndexingTests.temporaryPath()
        let store = try SQLiteMemoryStore(path: path, synchronous: .normal)
        let checkpointer = store.checkpointer
        let readWhileHeld = Locked(false)
        let firstKey = MemoryKey("held/0")
        let extraWriters = ProcessInfo.processInfo.activeProcessorCount + 2
        let extraTasks = Locked<[Task<Void, any Error>]>([])
        checkpointer.beforeBackgroundCopy.withLock {
            $0 = { [checkpointer] in
                let deadline = ContinuousClock.now + .seconds(20)
                while checkpointer.backgroundWaits.load(ordering: .relaxed) == 0, ContinuousClock.now < deadline {
                    usleep(1_000)
                }
                guard checkpointer.backgroundWaits.load(ordering: .relaxed) > 0 else { return }
                // A write is waiting: more writers than the pool has threads wait too.
                for extra in 0..<extraWriters {
                    let task = Task { _ = try await store.put(MemoryKey("extra/\(extra)"), value: Self.value(extra), in: Self.namespace) }
                    extraTasks.withLock { $0.append(task) }
                }
                // Patient: under ThreadSanitizer, beside the other suites' tests on two cores, the
                // extra writers took more than 20 seconds to reach the wait (the CI run of
                // 2026-12-07, 14:25: two of five waits counted when the hold gave up).
                while checkpointer.backgroundWaits.load(ordering: .relaxed) < 1 + extraWriters, ContinuousClock.now < deadline + .seconds(120) {
                    usleep(1_000)
                }
                // A read still answers: the waiting writers hold no thread.
                let done = DispatchSemaphore(value: 0)
                Task {
                    if (try? await store.get(firstKey, in: Self.namespace)) != nil {
                        readWhileHeld.withLock { $0 = true }
                    }
                    done.signal()
                }
                _ = done.wait(timeout: .now() + 60)
            }
        }
        let pageBytes = 4_096 + 24
        var largestLog = 0
        for index in 0..<1_600 {
            try await store.put(try MemoryKey("held/\(index)"), value: Self.value(index), in: Self.namespace)
            largestLog = max(largestLog, Self.size(path + "-wal"))
        }
        for task in extraTasks.withLock({ $0 }) { try await task.value }
        #expect(checkpointer.backgroundWaits.load(ordering: .relaxed) >= 1 + extraWriters)
        #expect(readWhileHeld.withLock { $0 })
        #expect(!checkpointer.isBehind)
        #expect(largestLog < (Int(SQLiteCheckpointer.inlineFrames) + 50) * pageBytes, "the log grew to \(largestLog / pageBytes) pages")
        try await store.close()
        let reopened = try SQLiteMemoryStore(path: path)
        let page = try await reopened.list(in: Self.namespace, prefix: "held/", cursor: nil, limit: 2_000)
        #expect(page.records.count == 1_600)
        let extras = try await reopened.list(in: Self.namespace, prefix: "extra/", cursor: nil, limit: 100)
        #expect(extras.records.count == extraWriters)
        try await reopened.close()
    }

    /// Closing waits for a checkpoint in progress and closes the background connection first:
    /// stores opened and closed one after another on the same file, each writing past the
    /// size that starts a round, all close cleanly and keep every write.
    @Test func closingWhileTheBackgroundCopiesLosesNothing() async throws {
        let path = try SearchIndexingTests.temporaryPath()
        for round in 0..<4 {
            let store = try SQLiteMemoryStore(path: path, synchronous: .normal)
            try await store.batch(
                (0..<400).map { .put(key: try! MemoryKey("round/\(round)/\($0)"), value: Self.value($0)) }, in: Self.namespace)
            try await store.close()
            #expect(!FileManager.default.fileExists(atPath: path + "-wal"))
        }
        let reopened = try SQLiteMemoryStore(path: path)
        for round in 0..<4 {
            let page = try await reopened.list(in: Self.namespace, prefix: "round/\(round)/", cursor: nil, limit: 500)
            #expect(page.records.count == 400)
        }
        try await reopened.close()
    }
}
