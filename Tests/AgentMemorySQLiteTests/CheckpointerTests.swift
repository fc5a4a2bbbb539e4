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
    /// should the background fall behind, a commit copies it itself, so its file stays near
    /// 4,000 pages (under twice that while a slow background copy runs). Every put reads back after a reopen.
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
        // A commit past `inlineFrames` pages copies the log itself, unless the background's
        // copy is still running (its own checkpoint then copies nothing, and the log grows
        // until the background ends): under disk load a CI run saw 5,394 pages. Waiting for the
        // background instead would block a thread of Swift's cooperative pool, where writes
        // run, for a whole copy; a CI run that did so starved a PostgreSQL client of the pool
        // (BENCHMARKS.md, round twenty-five). So the bound is twice `inlineFrames`, well under
        // the 13,800 pages of no checkpoint at all.
        #expect(largestLog < 2 * Int(SQLiteCheckpointer.inlineFrames) * pageBytes, "the log grew to \(largestLog / pageBytes) pages")
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
