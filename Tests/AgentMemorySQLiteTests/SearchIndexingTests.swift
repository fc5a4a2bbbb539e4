import AgentMemoryCore
import AgentMemoryJSON
import Foundation
import GRDB
import Testing

@testable import AgentMemorySQLite
import TestScratch

/// The full-text index (SQLiteSearchIndexing: writes note their rows, the index catches up),
/// checked against the records by FTS5's own integrity check once caught up, and the upgrade of
/// a file made by the schema that kept it with triggers.
@Suite("SQLite search indexing")
struct SearchIndexingTests {
    static func temporaryPath() throws -> String {
        Scratch.file("search-indexing")
    }

    /// Runs `body` on a connection to the index file of the records at `path` (which must
    /// exist), the records attached as `records`, as a pass sees them.
    static func withIndex<T>(_ path: String, _ body: (Database) throws -> T) throws -> T {
        let queue = try DatabaseQueue(path: SQLiteSearchIndexFile.path(forRecordsAt: path))
        defer { try? queue.close() }
        return try queue.writeWithoutTransaction { db in
            try SQLiteIndexedBody.register(db)
            try db.execute(sql: "ATTACH DATABASE ? AS records", arguments: [path])
            return try body(db)
        }
    }

    struct IndexMismatch: Error, CustomStringConvertible {
        let description: String
    }

    /// The index must be current with the records and hold exactly their texts
    /// (``SQLiteMemoryStore/searchIndexDifferences(recordsAt:)``); throws what differs.
    static func checkIndex(_ path: String) throws {
        if let difference = try SQLiteMemoryStore.searchIndexDifferences(recordsAt: path) {
            throw IndexMismatch(description: difference)
        }
    }

    /// Brings the store's index up to date, then runs ``checkIndex(_:)`` on its file.
    static func checkIndex(_ store: SQLiteMemoryStore) async throws {
        try await store.catchUpSearchIndex()
        try checkIndex(store.path)
    }

    /// Runs a pass on the closed store at `path` (a store opened for it), then
    /// ``checkIndex(_:)``: a close leaves fewer than 4,096 rows to the next pass.
    static func checkIndexAfterAPass(_ path: String) async throws {
        let store = try SQLiteMemoryStore(path: path)
        try await store.catchUpSearchIndex()
        try await store.close()
        try checkIndex(path)
    }

    /// Rows the index has not applied, and rows it holds
    /// (``SQLiteMemoryStore/searchIndexBacklog(recordsAt:)``).
    static func indexState(_ path: String) throws -> (pending: Int, indexed: Int) {
        try SQLiteMemoryStore.searchIndexBacklog(recordsAt: path)
    }

    static let namespace = try! Namespace("main")

    /// Every kind of write, with the index caught up only now and then (so pending rows span
    /// transactions, and are changed again, deleted, purged and rolled back over while pending):
    /// once caught up, the index holds exactly the records.
    @Test func theIndexMatchesTheRecordsAfterEveryKindOfWrite() async throws {
        let path = try Self.temporaryPath()
        let clock = TestClock()
        let store = try SQLiteMemoryStore(path: path, idleIndexMerge: nil, clock: { clock.now })
        let namespace = Self.namespace
        var generator = SystemRandomNumberGenerator()
        let words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"]
        var pendingSeen = 0
        for round in 0..<8 {
            // Concurrent single writes (group commit), some of them conflicts that roll back.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for task in 0..<24 {
                    let key = "k\(Int.random(in: 0..<40, using: &generator))"
                    let word = words[(task + round) % words.count]
                    group.addTask {
                        switch task % 4 {
                        case 0: _ = try await store.put(MemoryKey(checked: key), value: .string("\(word) \(task)"), in: namespace)
                        case 1: _ = try await store.delete(MemoryKey(checked: key), in: namespace)
                        case 2:
                            _ = try? await store.put(
                                MemoryKey(checked: key), value: "conflict", in: namespace, options: PutOptions(ifVersion: 999))
                        default:
                            _ = try await store.append(MemoryKey(checked: key), value: .string(word), in: namespace)
                        }
                    }
                }
                try await group.waitForAll()
            }
            // A batch mixing creates, overwrites and deletes of the same keys.
            let operations: [MemoryOperation] = (0..<30).map { index in
                let key = MemoryKey(checked: "k\((index * 7 + round) % 40)")
                return index % 5 == 4 ? .delete(key: key) : .put(key: key, value: .string(words[index % words.count]))
            }
            _ = try await store.batch(operations, in: namespace)
            // A batch that fails as a whole.
            _ = try? await store.batch([.put(key: "k1", value: "never"), .put(key: "k2", value: "x", options: PutOptions(ifVersion: 999))], in: namespace)
            // Records that expire, overwritten once, then purged.
            for index in 0..<3 {
                try await store.put(
                    MemoryKey(checked: "ttl\(index)"), value: .string("kiwi \(round)"), in: namespace, options: PutOptions(ttl: .seconds(5)))
            }
            try await store.put("ttl0", value: .string("mango \(round)"), in: namespace, options: PutOptions(ttl: .seconds(5)))
            clock.advance(seconds: 10)
            #expect(try await store.purgeExpired() == 3)
            pendingSeen += try Self.indexState(path).pending
            // Caught up every other round only: the other rounds' pending rows meet the next
            // round's writes.
            if round % 2 == 1 { try await Self.checkIndex(store) }
        }
        #expect(pendingSeen > 0, "no write left a row pending: the index was written at commit")
        #expect(try await store.search("conflict", in: namespace, limit: 10).isEmpty)
        #expect(try await store.search("never", in: namespace, limit: 10).isEmpty)
        #expect(try await store.search("kiwi mango", in: namespace, limit: 10).isEmpty)
        try await store.close()
        // Closing caught up: nothing pending, and the index is exact.
        #expect(try Self.indexState(path).pending == 0)
        try Self.checkIndex(path)
    }

    @Test func purgingExpiredRecordsKeepsTheIndexExact() async throws {
        let path = try Self.temporaryPath()
        let now = Date()
        let clock = { @Sendable in now }
        let store = try SQLiteMemoryStore(path: path, limits: MemoryLimits(maxKeysPerNamespace: 3), idleIndexMerge: nil, clock: clock)
        let namespace = Self.namespace
        for index in 0..<3 {
            try await store.put(MemoryKey(checked: "t\(index)"), value: "lemur", in: namespace, options: PutOptions(ttl: .seconds(60)))
        }
        try await Self.checkIndex(store)
        try await store.close()
        // Later, the three have expired: a fourth key needs room, so the write purges them first.
        let later = try SQLiteMemoryStore(
            path: path, limits: MemoryLimits(maxKeysPerNamespace: 3), clock: { @Sendable in now.addingTimeInterval(120) })
        try await later.put("fresh", value: "gibbon", in: namespace)
        try await Self.checkIndex(later)
        #expect(try await later.search("lemur", in: namespace, limit: 10).isEmpty)
        #expect(try await later.search("gibbon", in: namespace, limit: 10).map(\.record.key) == ["fresh"])
        try await later.put("t0", value: "tamarin", in: namespace, options: PutOptions(ttl: .seconds(1)))
        try await later.close()
        let muchLater = try SQLiteMemoryStore(path: path, idleIndexMerge: nil, clock: { @Sendable in now.addingTimeInterval(600) })
        #expect(try await muchLater.purgeExpired() == 1)
        try await Self.checkIndex(muchLater)
        try await muchLater.close()
    }

    /// The schema of 2026-11-25 (three migrations, the index kept by triggers), as a file of
    /// that version holds it.
    static let schemaWithTriggers = """
        CREATE TABLE agent_memory_migrations (identifier TEXT PRIMARY KEY NOT NULL, applied_at REAL NOT NULL);
        CREATE TABLE memory_records (
            id INTEGER PRIMARY KEY, namespace TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
            version INTEGER NOT NULL, created_at REAL NOT NULL, updated_at REAL NOT NULL, author TEXT, expires_at REAL,
            size INTEGER NOT NULL,
            body TEXT GENERATED ALWAYS AS (
                CASE WHEN json_type(value) = 'text' THEN json_extract(value, '$') ELSE value END
            ) VIRTUAL,
            UNIQUE (namespace, key));
        CREATE INDEX memory_records_expiry ON memory_records (expires_at) WHERE expires_at IS NOT NULL;
        CREATE VIRTUAL TABLE memory_fts USING fts5(
            key, body, content = 'memory_records', content_rowid = 'id', tokenize = 'porter unicode61');
        CREATE TRIGGER memory_records_fts_insert AFTER INSERT ON memory_records BEGIN
            INSERT INTO memory_fts (rowid, key, body) VALUES (new.id, new.key, new.body);
        END;
        CREATE TRIGGER memory_records_fts_delete AFTER DELETE ON memory_records BEGIN
            INSERT INTO memory_fts (memory_fts, rowid, key, body) VALUES ('delete', old.id, old.key, old.body);
        END;
        CREATE TRIGGER memory_records_fts_update AFTER UPDATE OF key, value ON memory_records BEGIN
            INSERT INTO memory_fts (memory_fts, rowid, key, body) VALUES ('delete', old.id, old.key, old.body);
            INSERT INTO memory_fts (rowid, key, body) VALUES (new.id, new.key, new.body);
        END;
        CREATE TABLE memory_namespaces (namespace TEXT PRIMARY KEY NOT NULL, last_sequence INTEGER NOT NULL) WITHOUT ROWID;
        CREATE TABLE memory_changes (
            namespace TEXT NOT NULL, sequence INTEGER NOT NULL, key TEXT NOT NULL, operation TEXT NOT NULL,
            version INTEGER NOT NULL, author TEXT, time REAL NOT NULL, PRIMARY KEY (namespace, sequence)) WITHOUT ROWID;
        CREATE INDEX memory_changes_by_key ON memory_changes (namespace, key, sequence);
        CREATE INDEX memory_changes_by_time ON memory_changes (time);
        INSERT INTO agent_memory_migrations VALUES
            ('2026-11-25.1-records', 2461000.5), ('2026-11-25.2-full-text', 2461000.5), ('2026-11-25.3-change-log', 2461000.5);
        """

    /// A file as the store of 2026-11-25 left it: its schema, three records indexed by its
    /// triggers, their change-log entries.
    static func writeFileOfTheTriggerSchema(_ path: String) throws {
        let queue = try DatabaseQueue(path: path)
        try queue.write { db in
            try db.execute(sql: Self.schemaWithTriggers)
            // Rows as the old store wrote them: the triggers index them.
            for (index, text) in ["the quick brown fox", "lazy dogs sleep", "\"quoted\" json object"].enumerated() {
                let json = index == 2 ? "{\"note\":\"jackdaw\"}" : JSONValue.string(text).jsonString()
                try db.execute(
                    sql: """
                        INSERT INTO memory_records (namespace, key, value, version, created_at, updated_at, size)
                        VALUES ('main', ?, ?, 1, 1800000000, 1800000000, ?)
                        """,
                    arguments: ["old/\(index)", json, json.utf8.count + 5])
            }
            try db.execute(sql: """
                INSERT INTO memory_namespaces VALUES ('main', 3);
                INSERT INTO memory_changes VALUES ('main', 1, 'old/0', 'put', 1, NULL, 1800000000),
                    ('main', 2, 'old/1', 'put', 1, NULL, 1800000000), ('main', 3, 'old/2', 'put', 1, NULL, 1800000000);
                """)
        }
        try queue.close()
    }

    /// The names of the file's triggers.
    static func triggers(_ path: String) throws -> [String] {
        try schemaObjects(path, type: "trigger")
    }

    /// The names of the file's schema objects of `type` (`trigger`, `index`, ...).
    static func schemaObjects(_ path: String, type: String) throws -> [String] {
        let queue = try DatabaseQueue(path: path)
        defer { try? queue.close() }
        return try queue.read { db in try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = ?", arguments: [type]) }
    }

    @Test func aFileOfTheTriggerSchemaUpgradesInPlaceAndKeepsItsDataAndSearch() async throws {
        let path = try Self.temporaryPath()
        try Self.writeFileOfTheTriggerSchema(path)
        let store = try SQLiteMemoryStore(path: path, idleIndexMerge: nil)
        let namespace = Self.namespace
        // The data is kept, and the index built by the triggers still answers (the numbered
        // neighbours of a hit may follow it as context, so the first hit is the one checked).
        #expect(try await store.get("old/0", in: namespace)?.value == "the quick brown fox")
        #expect(try await store.search("fox", in: namespace, limit: 5).first?.record.key == "old/0")
        #expect(try await store.search("jackdaw", in: namespace, limit: 5).first?.record.key == "old/2")
        #expect(try await store.changes(in: namespace, since: 0, limit: 10).map(\.sequence) == [1, 2, 3])
        // The triggers are gone; writes now note their rows for the index, old entries included.
        #expect(try Self.triggers(path).isEmpty)
        try await store.put("old/0", value: "a slow green turtle", in: namespace)
        #expect(try await store.delete("old/1", in: namespace))
        try await store.put("new", value: "another fox", in: namespace)
        #expect(try await store.search("quick", in: namespace, limit: 5).isEmpty)
        #expect(try await store.search("dogs", in: namespace, limit: 5).isEmpty)
        #expect(try await store.search("turtle", in: namespace, limit: 5).first?.record.key == "old/0")
        #expect(try await store.search("fox", in: namespace, limit: 5).map(\.record.key) == ["new"])
        #expect(try await store.changes(in: namespace, since: 3, limit: 10).map(\.sequence) == [4, 5, 6])
        try await Self.checkIndex(store)
        try await store.close()
        // Opening again finds nothing left to migrate.
        let again = try SQLiteMemoryStore(path: path, idleIndexMerge: nil)
        #expect(try await again.search("turtle", in: namespace, limit: 5).first?.record.key == "old/0")
        try await again.close()
    }

    /// Single puts each followed by a catch-up (as when every put is followed by a search: one
    /// new FTS5 segment each) do not pile segments up: every
    /// ``SQLiteSearchIndexing/mergeInterval`` catch-ups one does merge work, so the index stays a
    /// few segments deep (FTS5's own merging alone left 14 after these), the index still matches
    /// the records, and searches find what they found before.
    @Test func singlePutsKeepTheIndexFewSegmentsDeep() async throws {
        let path = try Self.temporaryPath()
        let store = try SQLiteMemoryStore(path: path, synchronous: .normal, idleIndexMerge: nil)
        let namespace = Self.namespace
        let words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet"]
        try await store.batch((0..<500).map { index in
            .put(key: MemoryKey(checked: "n/\(index)"), value: .string("\(words[index % 10]) \(words[index / 10 % 10]) note"))
        }, in: namespace)
        let before = try await store.search("golf juliet", in: namespace, limit: 20).map(\.record.key)
        for index in 0..<200 {
            _ = try await store.put(MemoryKey(checked: "single/\(index)"), value: .string("kilo \(words[index % 10])"), in: namespace)
            try await store.catchUpSearchIndex()
        }
        let segments = try await store.read { db in try SQLiteSearchIndexing.segmentCount(db) }
        #expect(segments >= 1)
        #expect(segments <= 6, "the full-text index has \(segments) segments after 200 single puts")
        let after = try await store.search("golf juliet", in: namespace, limit: 20).map(\.record.key)
        #expect(after == before)
        #expect(try await store.search("kilo", in: namespace, limit: 500).count == 200)
        try await store.close()
        try Self.checkIndex(path)
    }
}

/// A clock that tests move forward.
final class TestClock: Sendable {
    private let offset = Locked(0.0)
    private let start = Date()

    /// The time now: the start plus every advance.
    var now: Date { start.addingTimeInterval(offset.withLock { $0 }) }

    /// Moves the clock forward.
    func advance(seconds: Double) { offset.withLock { $0 += seconds } }
}
