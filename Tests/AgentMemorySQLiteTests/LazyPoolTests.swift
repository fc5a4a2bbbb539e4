import AgentMemoryCore
import AgentMemoryJSON
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import GRDB
import Testing

@testable import AgentMemorySQLite

/// A store opened on a file that is created and migrated reads keys through its point reader
/// and opens GRDB's pool only when something needs it (``SQLitePoolConnections``); any other
/// store opens the pool at once, as before.
@Suite("SQLite: GRDB's pool opened at the first need")
struct LazyPoolTests {
    static let namespace = try! Namespace("lazy")

    /// Whether the store's pool is open.
    static func poolIsOpen(_ store: SQLiteMemoryStore) -> Bool {
        store.connections.ifOpened != nil
    }

    /// A new file's path, and a clock the test moves by hand for the stores it opens there.
    static func clockedPath() throws -> (path: String, now: Locked<Date>, clock: @Sendable () -> Date) {
        let now = Locked(Date(timeIntervalSince1970: 1_800_000_000))
        return (try SearchIndexingTests.temporaryPath(), now, { now.withLock { $0 } })
    }

    @Test func aStoreThatOnlyReadsKeysNeverOpensThePoolAndLeavesTheFileAsItWas() async throws {
        let path = try await OpenWithoutWritingTests.closedStore()
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        let store = try SQLiteMemoryStore(path: path)
        #expect(!Self.poolIsOpen(store))
        #expect(try await store.get("note/3", in: OpenWithoutWritingTests.namespace)?.value == .string("a walk by the lake 3"))
        #expect(try await store.get("note/9", in: OpenWithoutWritingTests.namespace) == nil)
        let several = try await store.get(["note/1", "note/9", "note/4", "note/1"], in: OpenWithoutWritingTests.namespace)
        #expect(several.mapValues(\.value) == ["note/1": .string("a walk by the lake 1"), "note/4": .string("a walk by the lake 4")])
        #expect(several["note/1"]?.version == 1)
        #expect(!Self.poolIsOpen(store))
        try await store.close()
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
        #expect(!FileManager.default.fileExists(atPath: path + "-wal"))
        #expect(!FileManager.default.fileExists(atPath: path + "-shm"))
        let error = await #expect(throws: MemoryError.self) { _ = try await store.get("note/3", in: OpenWithoutWritingTests.namespace) }
        #expect(error?.code == .unavailable)
        #expect(error?.message == "The SQLite store at \(path) is closed")
        await #expect(throws: MemoryError.self) { try await store.put("note/5", value: .string("late"), in: OpenWithoutWritingTests.namespace) }
    }

    /// Every read the point reader does not take, and every write, opens the pool and gives what
    /// a store whose pool opened at once gives.
    @Test(arguments: ["put", "search", "namespaces", "changes", "purge"])
    func theFirstReadBeyondKeysOrWriteOpensThePool(operation: String) async throws {
        let path = try await OpenWithoutWritingTests.closedStore()
        let namespace = OpenWithoutWritingTests.namespace
        let store = try SQLiteMemoryStore(path: path)
        #expect(!Self.poolIsOpen(store))
        switch operation {
        case "put":
            try await store.put("note/5", value: .string("a swim in the lake"), in: namespace)
            #expect(try await store.get("note/5", in: namespace)?.value == .string("a swim in the lake"))
        case "search":
            #expect(try await store.search("lake", in: namespace, limit: 10).count == 5)
        case "namespaces":
            #expect(try await store.namespaces().map(\.recordCount) == [5])
        case "changes":
            #expect(try await store.changes(in: namespace, since: 0, limit: 10).map(\.key) == (0..<5).map { "note/\($0)" })
        default:
            #expect(try await store.purgeExpired() == 0)
        }
        #expect(Self.poolIsOpen(store), "after \(operation)")
        try await store.close()
        #expect(!FileManager.default.fileExists(atPath: path + "-wal"))
        #expect(try SearchIndexingTests.indexState(path).pending == (operation == "put" ? 1 : 0))
        try await SearchIndexingTests.checkIndexAfterAPass(path)
    }

    /// Key suggestions for a missing key come from the point reader while the pool is closed,
    /// and equal what GRDB's path gives: expired keys and other namespaces skipped, bytes
    /// compared as they are.
    @Test func suggestionsFromThePointReaderEqualGRDBsAndOpenNoPool() async throws {
        let (path, now, clock) = try Self.clockedPath()
        let writer = try SQLiteMemoryStore(path: path, clock: clock)
        let memory = InMemoryMemoryStore(clock: clock)
        let other = try Namespace("elsewhere")
        let keys = [
            "note/1", "note/2", "note/10", "notes", "nota", "user/name", "user/nome", "caf\u{E9}", "cafe\u{301}",
            "\u{1F600}", "a", "zz", "project/alpha", "project/alphabet", "project/beta",
        ]
        for (index, key) in keys.enumerated() {
            for store in [writer, memory] as [any MemoryStore] {
                try await store.put(try MemoryKey(key), value: .int(index), in: Self.namespace)
            }
        }
        for store in [writer, memory] as [any MemoryStore] {
            try await store.put("note/3", value: .string("expires"), in: Self.namespace, options: PutOptions(ttl: .seconds(60)))
            try await store.put("note/4", value: .string("elsewhere"), in: other)
        }
        try await writer.close()
        now.withLock { $0 += 61 }

        let lazy = try SQLiteMemoryStore(path: path, clock: clock)
        let queue = try SQLiteMemoryStore(path: path, readPath: .readerQueue, clock: clock)
        #expect(!Self.poolIsOpen(lazy))
        // With the expired record in the file (the seeks check expiry), then without it (they
        // read the key index alone); the in-memory store's suggestions are the reference.
        for purged in [false, true] {
            if purged { #expect(try await queue.purgeExpired() == 1) }
            for target in ["note/5", "note", "notez", "usr/name", "cafe", "project/alph", "q", "\u{1F601}", "note/3", "zzz"] {
                for limit in [1, 3, 10] {
                    let fromReader = try await lazy.suggestKeys(near: try MemoryKey(target), in: Self.namespace, limit: limit)
                    let fromGRDB = try await queue.suggestKeys(near: try MemoryKey(target), in: Self.namespace, limit: limit)
                    let fromMemory = try await memory.suggestKeys(near: try MemoryKey(target), in: Self.namespace, limit: limit)
                    #expect(fromReader == fromGRDB, "near \(target), limit \(limit), purged \(purged)")
                    #expect(fromReader == fromMemory, "near \(target), limit \(limit), purged \(purged)")
                    #expect(!fromReader.contains("note/3") && !fromReader.contains("note/4"))
                }
            }
            #expect(try await lazy.suggestKeys(near: "note/5", in: Self.namespace, limit: 3).count == 3)
        }
        #expect(!Self.poolIsOpen(lazy))
        try await lazy.close()
        try await queue.close()
    }

    /// Pages come from the point reader while the pool is closed, and equal what GRDB's path
    /// and the in-memory store give: every page of every prefix and limit, cursors included,
    /// expired records and other namespaces skipped, keys in byte order (multi-byte keys, and a
    /// prefix whose bound past it is not valid UTF-8).
    @Test func pagesFromThePointReaderEqualGRDBsAndOpenNoPool() async throws {
        let (path, now, clock) = try Self.clockedPath()
        let writer = try SQLiteMemoryStore(path: path, clock: clock)
        let memory = InMemoryMemoryStore(clock: clock)
        let keys = [
            "note/1", "note/2", "note/10", "notes", "nota", "user/name", "caf\u{E9}", "cafe\u{301}", "cafe",
            "\u{1F600}", "\u{1F600}/x", "\u{10FFFF}", "\u{10FFFF}z", "a", "zz",
        ]
        for (index, key) in keys.enumerated() {
            for store in [writer, memory] as [any MemoryStore] {
                try await store.put(try MemoryKey(key), value: .string("value \(index)"), in: Self.namespace)
            }
        }
        for store in [writer, memory] as [any MemoryStore] {
            try await store.put("note/3", value: .string("expires"), in: Self.namespace, options: PutOptions(ttl: .seconds(60)))
            try await store.put("note/4", value: .string("elsewhere"), in: try Namespace("elsewhere"))
            try await store.put("note/1", value: .string("second version"), in: Self.namespace)
        }
        try await writer.close()
        now.withLock { $0 += 61 }

        let lazy = try SQLiteMemoryStore(path: path, clock: clock)
        let queue = try SQLiteMemoryStore(path: path, readPath: .readerQueue, clock: clock)
        #expect(!Self.poolIsOpen(lazy))
        var pages = 0
        for prefix in [nil, "", "note", "note/", "caf", "\u{1F600}", "\u{10FFFF}", "zz", "nothing"] as [String?] {
            for limit in [1, 2, 3, 100] {
                var cursors: [String?] = [nil, nil, nil]
                repeat {
                    var seen: [[String]] = []
                    for (index, store) in ([lazy, queue, memory] as [any MemoryStore]).enumerated() {
                        let page = try await store.list(in: Self.namespace, prefix: prefix, cursor: cursors[index], limit: limit)
                        seen.append(page.records.map { "\($0.key)=\($0.value) v\($0.version)" })
                        cursors[index] = page.nextCursor
                    }
                    pages += 1
                    #expect(seen[0] == seen[1], "prefix \(prefix ?? "nil"), limit \(limit)")
                    #expect(seen[0] == seen[2], "prefix \(prefix ?? "nil"), limit \(limit)")
                    #expect(seen[0].count <= limit && !seen[0].contains { $0.hasPrefix("note/3=") || $0.hasPrefix("note/4=") })
                    #expect(cursors[0] == cursors[1] && cursors[0] == cursors[2])
                } while cursors[0] != nil
            }
        }
        #expect(pages == 99)
        let all = try await lazy.list(in: Self.namespace, prefix: nil, cursor: nil, limit: 100).records
        #expect(all.map(\.key) == keys.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) })
        #expect(all.first { $0.key == "note/1" }?.version == 2)
        #expect(try await lazy.list(in: Self.namespace, prefix: "\u{10FFFF}", cursor: nil, limit: 10).records.map(\.key)
            == ["\u{10FFFF}", "\u{10FFFF}z"])
        #expect(!Self.poolIsOpen(lazy))
        try await lazy.close()
        try await queue.close()
        #expect(!FileManager.default.fileExists(atPath: path + "-wal"))
    }

    /// Without an expired record the seeks read the `(namespace, key)` index alone; with one
    /// they also read each row's expiry, and the check itself reads the index of expiring rows.
    @Test func suggestionSeeksReadTheKeyIndexAloneWhileNothingHasExpired() async throws {
        let path = try await OpenWithoutWritingTests.closedStore()
        let queue = try DatabaseQueue(path: path)
        defer { try? queue.close() }
        try await queue.read { db in
            func plan(_ sql: String) throws -> [String] {
                try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + sql, arguments: ["n", "k", 0, 2]).map { $0["detail"] as String }
            }
            let unchecked = SQLiteMemoryStore.suggestionSeeks(checkingExpiry: false)
            for sql in [unchecked.forward, unchecked.backward] {
                let steps = try plan(sql)
                #expect(steps.allSatisfy { $0.contains("USING COVERING INDEX") }, "\(steps)")
            }
            let checked = SQLiteMemoryStore.suggestionSeeks(checkingExpiry: true)
            #expect(try plan(checked.forward).allSatisfy { !$0.contains("COVERING") })
            let exists = try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + SQLiteMemoryStore.expiredRowExists, arguments: [0])
            #expect(exists.contains { ($0["detail"] as String).contains("memory_records_expiry") })
        }
    }

    /// A file that does not exist yet, or that the store reads through GRDB's readers only,
    /// opens the pool with the store (creating and migrating the file there).
    @Test func aNewFileOrAStoreWithoutPointReaderOpensThePoolAtOnce() async throws {
        let path = try SearchIndexingTests.temporaryPath()
        let created = try SQLiteMemoryStore(path: path)
        #expect(Self.poolIsOpen(created))
        try await created.close()
        let queue = try SQLiteMemoryStore(path: path, readPath: .readerQueue)
        #expect(Self.poolIsOpen(queue))
        try await queue.close()
        let automatic = try SQLiteMemoryStore(path: path)
        #expect(!Self.poolIsOpen(automatic))
        try await automatic.close()
    }

    /// A file deleted, or replaced by another, after the store opened it is not opened by the
    /// pool later: the write is refused with `unavailable`, nothing is created or written at the
    /// path, and the store still reads the file it opened (what a pool opened with the store
    /// does: ``SQLiteFileCheck``).
    @Test(arguments: ["deleted", "replaced"])
    func aPoolOpeningLaterRefusesAFileReplacedMeanwhile(change: String) async throws {
        let path = try await OpenWithoutWritingTests.closedStore()
        let namespace = OpenWithoutWritingTests.namespace
        let store = try SQLiteMemoryStore(path: path)
        #expect(!Self.poolIsOpen(store))
        var replacement: Data?
        if change == "deleted" {
            try FileManager.default.removeItem(atPath: path)
        } else {
            let other = try await OpenWithoutWritingTests.closedStore()
            replacement = try Data(contentsOf: URL(fileURLWithPath: other))
            _ = rename(other, path)
        }
        let error = await #expect(throws: MemoryError.self) {
            try await store.put("note/9", value: .string("lost?"), in: namespace)
        }
        #expect(error?.code == .unavailable)
        #expect(error?.message == "The SQLite file \(path) was deleted or replaced after the store opened it; nothing was read"
            + " from the new file or written. Restore the file or open the store again")
        #expect(!Self.poolIsOpen(store))
        #expect(try await store.get("note/2", in: namespace)?.value == .string("a walk by the lake 2"))
        // Pages too come from the point reader, which has the file the store opened.
        #expect(try await store.list(in: namespace, prefix: nil, cursor: nil, limit: 5).records.count == 5)
        #expect(!Self.poolIsOpen(store))
        if let replacement {
            #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == replacement)
        } else {
            #expect(!FileManager.default.fileExists(atPath: path))
        }
        try await store.close()
    }

    /// A store that only writes never opens its read-only pool, its close included (the
    /// close's look at the full-text index runs on the index file's connection), and a read
    /// that needs a reader opens it (README, "SQLite").
    @Test func writingAndClosingOpenNoReaders() async throws {
        let path = try await OpenWithoutWritingTests.closedStore()
        let namespace = OpenWithoutWritingTests.namespace
        let writer = try SQLiteMemoryStore(path: path)
        try await writer.put("note/6", value: .string("written only"), in: namespace)
        let opened = try #require(writer.connections.ifOpened)
        try await writer.close()
        #expect(opened.readers.ifOpened == nil)

        let scanner = try SQLiteMemoryStore(path: path)
        #expect(try await scanner.namespaces().map(\.recordCount) == [6])
        #expect(try scanner.connections.opened().readers.ifOpened != nil)
        try await scanner.close()
    }

    /// Many first writes at once open one pool, and every write lands.
    @Test func concurrentFirstWritesShareOnePool() async throws {
        let path = try await OpenWithoutWritingTests.closedStore()
        let namespace = OpenWithoutWritingTests.namespace
        let store = try SQLiteMemoryStore(path: path)
        #expect(!Self.poolIsOpen(store))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<16 {
                group.addTask { try await store.put(try MemoryKey("new/\(index)"), value: .int(index), in: namespace) }
            }
            try await group.waitForAll()
        }
        let database = try #require(store.connections.ifOpened?.database)
        #expect(try store.connections.opened().database === database)
        #expect(try await store.list(in: namespace, prefix: "new/", cursor: nil, limit: 100).records.count == 16)
        #expect(try await store.changes(in: namespace, since: 0, limit: 100).count == 21)
        try await store.close()
        try await SearchIndexingTests.checkIndexAfterAPass(path)
    }

    /// A store that read only keys leaves the full-text index to the stores that write and to
    /// searches: its close opens nothing and indexes nothing; the writer's close leaves its one
    /// row to the next search, which indexes it.
    @Test func closingAfterReadsLeavesTheIndexToTheWriter() async throws {
        let path = try await OpenWithoutWritingTests.closedStore()
        let namespace = OpenWithoutWritingTests.namespace
        let writer = try SQLiteMemoryStore(path: path)
        try await writer.put("note/5", value: .string("rowing on the lake"), in: namespace)
        #expect(try Self.hasPendingRows(path))

        let reader = try SQLiteMemoryStore(path: path)
        #expect(!Self.poolIsOpen(reader))
        #expect(try await reader.get("note/5", in: namespace)?.value == .string("rowing on the lake"))
        try await reader.close()
        #expect(!Self.poolIsOpen(reader))
        #expect(try Self.hasPendingRows(path))
        try await writer.close()
        #expect(try Self.hasPendingRows(path))
        let searcher = try SQLiteMemoryStore(path: path)
        #expect(try await searcher.search("rowing", in: namespace, limit: 5).first?.record.key == "note/5")
        try await searcher.close()
        #expect(try !Self.hasPendingRows(path))
        try SearchIndexingTests.checkIndex(path)
    }

    /// Whether the file at `path` holds rows the full-text index has not applied.
    static func hasPendingRows(_ path: String) throws -> Bool {
        try SearchIndexingTests.indexState(path).pending > 0
    }
}
