import AgentMemoryCore
import AgentMemoryJSON
import Foundation
import GRDB
import Synchronization
import Testing

@testable import AgentMemorySQLite

/// The three read paths (calling thread, queue, automatic) read the same file the same way:
/// equal results for every kind of read, and a search of a large index moves to the queue.
@Suite("SQLite read paths")
struct ReadPathTests {
    static let namespace = try! Namespace("paths")

    /// Every kind of read, as one comparable value.
    static func reads(_ store: SQLiteMemoryStore) async throws -> [String] {
        let namespace = Self.namespace
        var results: [String] = []
        results.append("\(try await store.get("turn/0003", in: namespace)?.value as Any)")
        let page = try await store.list(in: namespace, prefix: "turn/", cursor: nil, limit: 3)
        results.append(page.records.map(\.key).joined(separator: ",") + " next=\(page.nextCursor ?? "-")")
        let next = try await store.list(in: namespace, prefix: "turn/", cursor: page.nextCursor, limit: 3)
        results.append(next.records.map(\.key).joined(separator: ","))
        for hit in try await store.search("concert birthday", in: namespace, limit: 5) {
            results.append("\(hit.record.key) \(hit.score) \(hit.snippet)")
        }
        results.append(try await store.changes(in: namespace, since: 0, limit: 4).map { "\($0.sequence) \($0.key)" }.joined(separator: ","))
        results.append(try await store.namespaces().map { "\($0.namespace.name)=\($0.recordCount)" }.joined(separator: ","))
        return results
    }

    /// Two stores of one new file, the first reading on the calling thread when it can, the
    /// second through GRDB's readers, both on a clock the test moves.
    static func twoStoresOnOneClock() throws -> (automatic: SQLiteMemoryStore, queue: SQLiteMemoryStore, now: Locked<Date>) {
        let path = try SearchIndexingTests.temporaryPath()
        let now = Locked(Date(timeIntervalSince1970: 1_800_000_000))
        let clock: @Sendable () -> Date = { now.withLock { $0 } }
        return (
            try SQLiteMemoryStore(path: path, readPath: .automatic, clock: clock),
            try SQLiteMemoryStore(path: path, readPath: .readerQueue, clock: clock), now
        )
    }

    /// A closed store leaves no `-wal` file beside its database, nor a `-wal` or `-shm` beside
    /// its index, whichever path its reads took (the file's frames would be laid over a backup
    /// of the database copied back alone).
    @Test(arguments: [SQLiteMemoryStore.ReadPath.callingThread, .readerQueue, .automatic])
    func closingLeavesNoWriteAheadLog(readPath: SQLiteMemoryStore.ReadPath) async throws {
        let path = try SearchIndexingTests.temporaryPath()
        let writer = try SQLiteMemoryStore(path: path)
        for index in 0..<7 {
            try await writer.put(try MemoryKey(String(format: "turn/%04d", index)), value: .string("a concert on birthday \(index)"), in: Self.namespace)
        }
        try await writer.catchUpSearchIndex()
        try await writer.close()
        let index = path + "-search"
        for log in [path + "-wal", index + "-wal", index + "-shm"] { #expect(!FileManager.default.fileExists(atPath: log), "\(log)") }

        let store = try SQLiteMemoryStore(path: path, readPath: readPath)
        _ = try await Self.reads(store)
        // Reads on several threads at once, so that the pool opens more than one reader.
        try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<4 { group.addTask { try await store.search("concert", in: Self.namespace, limit: 3).count } }
            for try await count in group { #expect(count == 3) }
        }
        // Its readers alone read the index (current since the writer's pass): its log is deleted too.
        #expect(try store.searchIndex.passes.load(ordering: .relaxed) == 0)
        try await store.close()
        for log in [path + "-wal", index + "-wal", index + "-shm"] {
            #expect(!FileManager.default.fileExists(atPath: log), "read path \(readPath): \(log)")
        }
        #expect(FileManager.default.fileExists(atPath: path))
        #expect(FileManager.default.fileExists(atPath: index))
    }

    /// The calling thread's point reader opens its connection at the first `get` that does not
    /// follow this process's writes (which reads on the writer's connection): a store that only
    /// writes (a `remember` process) never opens it. After `close()` reads fail as before.
    @Test func thePointReaderOpensAtTheFirstGet() async throws {
        let path = try SearchIndexingTests.temporaryPath()
        let store = try SQLiteMemoryStore(path: path, readPath: .callingThread)
        let reader = try #require(store.pointReader)
        try await store.put("turn/0001", value: .string("only written"), in: Self.namespace)
        _ = try await store.list(in: Self.namespace, prefix: nil, cursor: nil, limit: 5)
        #expect(!reader.isOpen)
        #expect(try await store.get("turn/0001", in: Self.namespace)?.value == .string("only written"))
        #expect(!reader.isOpen)
        #expect(try await store.get("turn/0002", in: Self.namespace) == nil)
        #expect(reader.isOpen)
        #expect(try await store.get("turn/0001", in: Self.namespace)?.value == .string("only written"))
        try await store.close()
        #expect(!reader.isOpen)
        await #expect(throws: MemoryError.self) { try await store.get("turn/0001", in: Self.namespace) }
    }

    /// A read of several keys (what a turn of tool calls prefetches) right after this process's
    /// writes runs on the writer's connection; the next, with no write between, on the point
    /// reader's connection, in one read transaction. Both give what GRDB's path gives: missing
    /// and expired keys absent, a key asked twice present once. A write after them is seen by
    /// the next read (the transactions ended).
    @Test func severalKeysAreReadOnThePointReaderAsThroughGRDB() async throws {
        let (store, queue, now) = try Self.twoStoresOnOneClock()
        #expect(queue.pointReader == nil)
        try await store.put("a", value: .string("first"), in: Self.namespace)
        try await store.put("b", value: .object(["n": 2]), in: Self.namespace)
        try await store.put("short", value: .string("expires"), in: Self.namespace, options: PutOptions(ttl: .seconds(60)))
        now.withLock { $0 += 61 }
        let keys: [MemoryKey] = ["a", "missing", "b", "short", "a"]
        let reader = try #require(store.pointReader)
        let afterWrites = try await store.get(keys, in: Self.namespace)
        #expect(!reader.isOpen)
        #expect(try store.writer.idleReads.load(ordering: .relaxed) == 1)
        let read = try await store.get(keys, in: Self.namespace)
        #expect(reader.isOpen)
        #expect(try store.writer.idleReads.load(ordering: .relaxed) == 1)
        #expect(read.keys.sorted() == ["a", "b"])
        #expect(read["a"]?.value == .string("first"))
        #expect(read["b"]?.value == .object(["n": 2]) && read["b"]?.version == 1)
        #expect(afterWrites == read)
        #expect(try await queue.get(keys, in: Self.namespace) == read)
        // A store whose reads go to its queue never reads on the calling thread, its writer's
        // connection included.
        #expect(try queue.writer.idleReads.load(ordering: .relaxed) == 0)
        try await store.put("a", value: .string("second"), in: Self.namespace)
        #expect(try await store.get(keys, in: Self.namespace)["a"]?.value == .string("second"))
        #expect(try store.writer.idleReads.load(ordering: .relaxed) == 2)
        // Single keys take the same two paths.
        try await store.put("b", value: .string("third"), in: Self.namespace)
        #expect(try await store.get("b", in: Self.namespace)?.value == .string("third"))
        #expect(try store.writer.idleReads.load(ordering: .relaxed) == 3)
        #expect(try await store.get("b", in: Self.namespace)?.value == .string("third"))
        #expect(try await store.get("short", in: Self.namespace) == nil)
        #expect(try store.writer.idleReads.load(ordering: .relaxed) == 3)
        try await queue.close()
        try await store.close()
    }

    /// A read of several keys (one statement over a JSON list of them) finds exactly what a
    /// read of each key alone finds, on every path, whatever the keys hold: quotes,
    /// backslashes, JSON-like and number-like text, non-ASCII in both normal forms, spaces; a
    /// key asked twice, a missing key and an expired key are handled as for one key.
    @Test func manyKeysAreReadAsEachKeyAlone() async throws {
        let (store, queue, now) = try Self.twoStoresOnOneClock()
        let odd: [String] = [
            "quote\"d", "back\\slash", "\\\"", "[\"a\", 1]", "{\"k\": 2}", "42", "-1.5e3", "null", "true",
            "caf\u{E9}", "cafe\u{301}", "\u{1F600} emoji", "with space", " lead", "trail ", "u\\u0041", "/slash/", "a,b",
        ]
        var written: [MemoryKey] = []
        for (index, text) in odd.enumerated() {
            let key = try MemoryKey(text)
            try await store.put(key, value: .string("value \(index)"), in: Self.namespace)
            written.append(key)
        }
        for index in 0..<30 {
            let key = try MemoryKey(String(format: "turn/%04d", index))
            try await store.put(key, value: .object(["n": .int(index)]), in: Self.namespace)
            written.append(key)
        }
        try await store.put("short", value: .string("expires"), in: Self.namespace, options: PutOptions(ttl: .seconds(60)))
        // In another namespace: never found here.
        try await store.put("turn/0001", value: .string("elsewhere"), in: try Namespace("other"))
        now.withLock { $0 += 61 }
        let asked: [MemoryKey] = written.reversed() + ["missing", "short", "quote\"d", "turn/0007", "Quote\"d", "cafe", "", "turn/00"]
            .compactMap { try? MemoryKey($0) }
        var expected: [MemoryKey: MemoryRecord] = [:]
        for key in asked {
            if let record = try await store.get(key, in: Self.namespace) { expected[key] = record }
        }
        #expect(expected.count == written.count)
        #expect(expected["quote\"d"]?.value == .string("value 0"))
        #expect(expected["cafe\u{301}"]?.value == .string("value 10"))

        try await store.put("turn/0000", value: .object(["n": 0]), in: Self.namespace)
        let idleReads = try store.writer.idleReads.load(ordering: .relaxed)
        let afterWrites = try await store.get(asked, in: Self.namespace)
        #expect(try store.writer.idleReads.load(ordering: .relaxed) == idleReads + 1, "on the writer's connection")
        let onPointReader = try await store.get(asked, in: Self.namespace)
        #expect(try store.writer.idleReads.load(ordering: .relaxed) == idleReads + 1, "on the point reader")
        expected["turn/0000"] = try await store.get("turn/0000", in: Self.namespace)
        let throughGRDB = try await queue.get(asked, in: Self.namespace)
        #expect(afterWrites == expected)
        #expect(onPointReader == expected)
        #expect(throughGRDB == expected)
        #expect(expected["turn/0000"]?.version == 2)
        // Two keys, the fewest a read of several keys takes.
        #expect(try await store.get(["turn/0003", "missing"], in: Self.namespace) == ["turn/0003": try #require(expected["turn/0003"])])
        try await queue.close()
        try await store.close()
    }

    /// The keys' JSON list reads back as the keys, whatever they hold (a control character only
    /// in a key read back unchecked).
    @Test func theKeyListIsJSONOfTheKeys() throws {
        let texts = ["a\"b", "c\\d", "\\\"", "x\u{1}y\u{1F}", "caf\u{E9}", "\u{1F600}", "", "plain/key"]
        let keys = texts.map { MemoryKey(checked: $0) }
        let bytes = SQLiteStoredRow.keyList(keys)
        #expect(try JSONValue(parsing: Data(bytes)) == .array(texts.map { .string($0) }))
        #expect(SQLiteStoredRow.keyList([]) == Array("[]".utf8))
        #expect(String(decoding: SQLiteStoredRow.keyList(["q\"", "k"]), as: UTF8.self) == #"["q\"","k"]"#)
    }

    /// A batch's writes read the current rows of its keys in one statement over their JSON list:
    /// keys that need escaping there, a key written twice in one batch (its second write sees
    /// the first), deletes and new keys give what the in-memory store gives, outcome by outcome.
    @Test func aBatchReadsItsKeysAsTheInMemoryStoreDoes() async throws {
        let clock: @Sendable () -> Date = { Date(timeIntervalSince1970: 1_800_000_000) }
        let sqlite = try SQLiteMemoryStore(path: try SearchIndexingTests.temporaryPath(), clock: clock)
        let memory = InMemoryMemoryStore(clock: clock)
        let keys: [MemoryKey] = ["quote\"d", "back\\slash", "[\"a\"]", "42", "caf\u{E9}", "cafe\u{301}", "plain", "\u{1F600}"]
        let first: [MemoryOperation] = keys.map { .put(key: $0, value: .string("one"), options: .none) }
        var second: [MemoryOperation] = []
        for (index, key) in keys.enumerated() {
            second.append(index % 3 == 0 ? .delete(key: key) : .put(key: key, value: .int(index), options: .none))
            if index % 2 == 0 { second.append(.put(key: key, value: .string("again \(index)"), options: .none)) }
        }
        second.append(.put(key: "new \"key\"", value: .bool(true), options: .none))
        second.append(.delete(key: "never"))
        for operations in [first, second, second] {
            let got = try await sqlite.apply(operations, in: Self.namespace)
            let want = try await memory.apply(operations, in: Self.namespace)
            #expect(got == want)
        }
        let everyKey = keys + ["new \"key\"", "never"]
        #expect(try await sqlite.get(everyKey, in: Self.namespace) == (try await memory.get(everyKey, in: Self.namespace)))
        // Two writes a batch to the composed spelling, one to the decomposed: two keys.
        #expect(try await sqlite.get("caf\u{E9}", in: Self.namespace)?.version == 5)
        #expect(try await sqlite.get("cafe\u{301}", in: Self.namespace)?.version == 3)
        try await sqlite.close()
    }

    /// A write that arrives while a read holds the writer's connection waits for it, like a
    /// write behind a transaction, and commits when the read ends; the read sees the state
    /// before the write.
    @Test func aWriteDuringAReadOnTheWritersConnectionCommitsAfterIt() async throws {
        let store = try SQLiteMemoryStore(path: try SearchIndexingTests.temporaryPath())
        try await store.put("k", value: .string("before"), in: Self.namespace)
        let writer = try store.writer
        let namespace = Self.namespace
        let write = Locked<Task<MemoryRecord, any Error>?>(nil)
        let holder = Task(executorPreference: HolderExecutor.shared) { () throws -> (value: String, queued: Bool)? in
            try writer.readIfIdle { db -> (value: String, queued: Bool) in
                // Off the cooperative pool, which other tests may keep busy.
                write.withLock {
                    $0 = Task(executorPreference: HolderExecutor.shared) { try await store.put("k", value: .string("after"), in: namespace) }
                }
                let deadline = Date().addingTimeInterval(60)
                while writer.queuedCount == 0, Date() < deadline { usleep(1_000) }
                let value = try String.fetchOne(db, sql: "SELECT value FROM memory_records WHERE key = 'k'") ?? "none"
                return (value, writer.queuedCount == 1)
            }
        }
        let seen = try #require(try await holder.value)
        #expect(seen.queued)
        #expect(seen.value == "\"before\"")
        let outcome = try await #require(write.withLock { $0 }).value
        #expect(outcome.version == 2)
        #expect(try await store.get("k", in: namespace)?.value == .string("after"))
        #expect(writer.queuedCount == 0)
        try await store.close()
    }

    @Test func everyPathReadsTheSame() async throws {
        let path = try SearchIndexingTests.temporaryPath()
        let texts = [
            "Melanie: we celebrated my daughter's birthday with a concert", "Caroline: who played?", "Melanie: Matt Patterson, live",
            "Caroline: I went hiking on Sunday", "Melanie: the lake was frozen", "Caroline: a concert next week?", "Melanie: yes, jazz",
        ]
        let writer = try SQLiteMemoryStore(path: path)
        for (index, text) in texts.enumerated() {
            try await writer.put(try MemoryKey(String(format: "turn/%04d", index)), value: .string(text), in: Self.namespace)
        }
        try await writer.close()

        var all: [[String]] = []
        for readPath in [SQLiteMemoryStore.ReadPath.callingThread, .readerQueue, .automatic] {
            let store = try SQLiteMemoryStore(path: path, readPath: readPath)
            all.append(try await Self.reads(store))
            if readPath == .automatic {
                // A small index: searches stay on the calling thread...
                let small = !store.searchIndexIsLarge.load(ordering: .relaxed)
                #expect(small)
                // ...and once a search has seen a large one, they run on the queue, alike.
                store.searchIndexIsLarge.store(true, ordering: .relaxed)
                all.append(try await Self.reads(store))
                let seenSmallAgain = !store.searchIndexIsLarge.load(ordering: .relaxed)
                #expect(seenSmallAgain)
            }
            try await store.close()
        }
        #expect(all[0].count == 10)
        #expect(all[0][1] == "turn/0000,turn/0001,turn/0002 next=\(ListCursor.encode(afterKey: "turn/0002"))")
        #expect(all[0][3].hasPrefix("turn/0000 "))
        for other in all.dropFirst() { #expect(other == all[0]) }
    }

    /// Connections read the file through a memory map of ``SQLiteMemoryStore/defaultMemoryMapSize``
    /// bytes unless told otherwise, and the answers are the same either way.
    @Test func readsGoThroughTheMemoryMapAsConfigured() async throws {
        let path = try SearchIndexingTests.temporaryPath()
        let namespace = try Namespace("mapped")
        var answers: [[String]] = []
        for size in [SQLiteMemoryStore.defaultMemoryMapSize, 0] {
            let store = try SQLiteMemoryStore(path: path, memoryMapSize: size)
            if size != 0 {
                try await store.batch((0..<50).map { .put(key: MemoryKey(checked: "n/\($0)"), value: .string("note \($0) about lunch")) }, in: namespace)
            }
            #expect(try await store.read { db in try Int.fetchOne(db, sql: "PRAGMA mmap_size") } == size)
            #expect(try await store.get(MemoryKey(checked: "n/7"), in: namespace)?.value == .string("note 7 about lunch"))
            answers.append(try await store.search("lunch 7", in: namespace, limit: 5).map(\.record.key))
            try await store.close()
        }
        #expect(answers[0].first == "n/7")
        #expect(answers[0] == answers[1])
    }

    /// Over a large index, ``SQLiteMemoryStore/ReadPath/automatic`` ranks on the calling thread
    /// while the query's words are rare and hold at most ``SQLiteMemoryStore/boundedSearchRows``
    /// rows together, and starts again on the queue otherwise, at once for a word an earlier
    /// search found common; the answers are those of a store that reads on the calling thread.
    @Test func largeIndexSearchesGoToTheQueueOnlyForManyRows() async throws {
        let path = try SearchIndexingTests.temporaryPath()
        let namespace = Self.namespace
        let writer = try SQLiteMemoryStore(path: path)
        let words = ["alpha", "beta", "gamma"]
        for start in stride(from: 0, to: 9_000, by: 1_000) {
            let puts: [MemoryOperation] = (start..<(start + 1_000)).map { index in
                let text = "common " + words[index % 3] + (index % 1_000 == 7 ? " unique" : "")
                return .put(key: MemoryKey(checked: "note/\(index)"), value: .string(text))
            }
            try await writer.batch(puts, in: namespace)
        }
        try await writer.close()
        let automatic = try SQLiteMemoryStore(path: path, readPath: .automatic)
        let direct = try SQLiteMemoryStore(path: path, readPath: .callingThread)
        // 9 rows; 6,000; 9,000 (more than the bound); a common word.
        let queries = ["unique", "alpha beta", "alpha beta gamma", "common unique"]
        var deferred: [Int] = []
        for query in queries {
            automatic.searchIndexIsLarge.store(true, ordering: .relaxed)
            let hits = try await automatic.search(query, in: namespace, limit: 5)
            deferred.append(automatic.unboundedSearches.load(ordering: .relaxed))
            let expected = try await direct.search(query, in: namespace, limit: 5)
            #expect(hits.map(\.record.key) == expected.map(\.record.key), "\(query)")
            #expect(hits.map(\.score) == expected.map(\.score), "\(query)")
            #expect(hits.count == 5, "\(query)")
        }
        #expect(deferred == [0, 0, 1, 2])
        // The common word is remembered: the next search holding it goes to the queue at once,
        // without starting on the calling thread, and answers the same.
        #expect(automatic.commonSearchWords.withLock { $0 } == ["common"])
        #expect(automatic.searchesSentToQueue.load(ordering: .relaxed) == 0)
        automatic.searchIndexIsLarge.store(true, ordering: .relaxed)
        let again = try await automatic.search("beta common", in: namespace, limit: 5)
        #expect(automatic.unboundedSearches.load(ordering: .relaxed) == 2)
        #expect(automatic.searchesSentToQueue.load(ordering: .relaxed) == 1)
        let expected = try await direct.search("beta common", in: namespace, limit: 5)
        #expect(again.map(\.record.key) == expected.map(\.record.key))
        #expect(again.map(\.score) == expected.map(\.score))
        try await automatic.close()
        try await direct.close()
    }
}
