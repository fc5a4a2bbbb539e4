import AgentMemoryCore
import AgentMemoryJSON
import Foundation
import GRDB
import Testing

@testable import AgentMemorySQLite

/// Binaries of different versions on one file: a file this version wrote is refused by an older
/// binary (which would corrupt its full-text index), and a file a newer version wrote is refused
/// here, in both cases before anything is written.
@Suite("SQLite file versions")
struct FileVersionTests {
    static let namespace = try! Namespace("main")

    /// The records, the migrations recorded and the rows waiting for the index, read directly.
    static func contents(_ path: String) throws -> (records: [String], migrations: [String], pending: Int) {
        let queue = try DatabaseQueue(path: path)
        defer { try? queue.close() }
        return try queue.read { db in
            (try String.fetchAll(db, sql: "SELECT key || '=' || value FROM memory_records ORDER BY key"),
             try String.fetchAll(db, sql: "SELECT identifier FROM agent_memory_migrations ORDER BY identifier"),
             try Int.fetchOne(db, sql: try db.tableExists("memory_fts_notes")
                ? "SELECT count(*) FROM memory_fts_notes" : "SELECT count(*) FROM memory_fts_pending") ?? -1)
        }
    }

    /// Opens `path` as a binary whose migration list is `migrations` did before this version:
    /// in one immediate transaction, run every migration the file has not recorded.
    static func openAsOlderBinary(_ path: String, migrations: ArraySlice<SQLiteMigrations.Migration>) throws {
        let queue = try DatabaseQueue(path: path)
        defer { try? queue.close() }
        try queue.writeWithoutTransaction { db in
            try db.inTransaction(.immediate) {
                try db.execute(sql: """
                    CREATE TABLE IF NOT EXISTS agent_memory_migrations (
                        identifier TEXT PRIMARY KEY NOT NULL, applied_at REAL NOT NULL)
                    """)
                let applied = Set(try String.fetchAll(db, sql: "SELECT identifier FROM agent_memory_migrations"))
                for migration in migrations where !applied.contains(migration.identifier) {
                    try db.execute(sql: migration.sql)
                    try db.execute(
                        sql: "INSERT INTO agent_memory_migrations (identifier, applied_at) VALUES (?, 0)",
                        arguments: [migration.identifier])
                }
                return .commit
            }
        }
    }

    /// A file with one record still waiting for the index (the state an older binary would
    /// corrupt), made by this version; the store stays open (so no pass of its own runs meanwhile).
    static func fileWithAPendingRecord() async throws -> (path: String, store: SQLiteMemoryStore) {
        let path = try SearchIndexingTests.temporaryPath()
        let store = try SQLiteMemoryStore(path: path, idleIndexMerge: nil)
        _ = try await store.put("notes/kept", value: .string("the quick brown fox"), in: Self.namespace)
        _ = try await store.put("notes/pending", value: .string("lazy dogs sleep"), in: Self.namespace)
        try await store.catchUpSearchIndex()
        _ = try await store.put("notes/pending", value: .string("a jackdaw on the roof"), in: Self.namespace)
        return (path, store)
    }

    /// Every older migration list this project shipped (three migrations with the index kept by
    /// triggers; four, indexing at commit; five, with the catch-up) fails to open a file of this
    /// version, on `CREATE TABLE memory_records`, and leaves the file as it was.
    @Test(arguments: [3, 4, 5])
    func anOlderBinaryRefusesTheFile(knownMigrations: Int) async throws {
        // The store's own copy of the older list: the older binaries ran exactly these.
        let older = SQLiteMigrations.all.prefix(knownMigrations)
        #expect(older.first?.identifier == "2026-11-25.1-records")
        #expect(!older.contains { $0.identifier == SQLiteMigrations.refuseOlderBinaries })

        let (path, writer) = try await Self.fileWithAPendingRecord()
        let before = try Self.contents(path)
        #expect(before.pending == 1)
        #expect(!before.migrations.contains("2026-11-25.1-records"))
        #expect(before.migrations.contains(SQLiteMigrations.refuseOlderBinaries))

        let error = #expect(throws: DatabaseError.self) { try Self.openAsOlderBinary(path, migrations: older) }
        #expect(error?.message == "table memory_records already exists")
        let after = try Self.contents(path)
        #expect(after.records == before.records)
        #expect(after.migrations == before.migrations)
        #expect(after.pending == 1)

        // This version still opens it, and its search finds the pending record's new text.
        try await writer.close()
        let store = try SQLiteMemoryStore(path: path, idleIndexMerge: nil)
        #expect(try await store.search("jackdaw", in: Self.namespace, limit: 5).map(\.record.key) == ["notes/pending"])
        #expect(try await store.search("lazy", in: Self.namespace, limit: 5).isEmpty)
        try await store.close()
        try SearchIndexingTests.checkIndex(path)
    }

    /// A file made before the guard (its migrations recorded in full) gets it on the first open
    /// by this version; a second open finds nothing left to do.
    @Test func aFileOfTheLastVersionGetsTheGuardOnOpen() async throws {
        let path = try SearchIndexingTests.temporaryPath()
        try Self.openAsOlderBinary(path, migrations: SQLiteMigrations.all.prefix(5))
        #expect(try Self.contents(path).migrations.contains("2026-11-25.1-records"))

        for _ in 0..<2 {
            let store = try SQLiteMemoryStore(path: path, idleIndexMerge: nil)
            _ = try await store.put("k", value: .string("v"), in: Self.namespace)
            try await store.close()
            let migrations = try Self.contents(path).migrations
            #expect(migrations == SQLiteMigrations.all.map(\.identifier).filter { $0 != "2026-11-25.1-records" }.sorted())
        }
        #expect(throws: DatabaseError.self) { try Self.openAsOlderBinary(path, migrations: SQLiteMigrations.all.prefix(5)) }
    }

    /// The names of the file's indexes.
    static func indexes(_ path: String) throws -> [String] {
        try SearchIndexingTests.schemaObjects(path, type: "index")
    }

    /// A file of the version before this one (its change log indexed by key) loses that index
    /// on the first open, and `history` still gives each key's entries, oldest first, from a
    /// log where the keys' entries interleave, reading the namespace's log from its newest entry.
    @Test func aFileOfThePreviousVersionDropsTheLogsKeyIndexAndKeepsHistory() async throws {
        let path = try SearchIndexingTests.temporaryPath()
        let previous = SQLiteMigrations.all.prefix { $0.identifier != "2026-12-01.1-change-log-without-key-index" }
        #expect(SQLiteMigrations.all[previous.count].identifier == "2026-12-01.1-change-log-without-key-index")
        try Self.openAsOlderBinary(path, migrations: previous)
        #expect(try Self.indexes(path).contains("memory_changes_by_key"))

        let store = try SQLiteMemoryStore(path: path, idleIndexMerge: nil)
        #expect(try !Self.indexes(path).contains("memory_changes_by_key"))
        let other = try Namespace("other")
        for round in 1...3 {
            for key in ["a", "b", "c"] {
                _ = try await store.put(MemoryKey(key), value: .int(round), in: Self.namespace)
                _ = try await store.put(MemoryKey(key), value: .int(round), in: other)
            }
        }
        #expect(try await store.delete("b", in: Self.namespace))
        let a = try await store.history(of: "a", in: Self.namespace, limit: 10)
        #expect(a.map(\.sequence) == [1, 4, 7])
        #expect(a.map(\.version) == [1, 2, 3])
        let b = try await store.history(of: "b", in: Self.namespace, limit: 10)
        #expect(b.map(\.sequence) == [2, 5, 8, 10])
        #expect(b.map(\.operation) == [.put, .put, .put, .delete])
        #expect(try await store.history(of: "b", in: Self.namespace, limit: 2).map(\.sequence) == [8, 10])
        #expect(try await store.history(of: "never", in: Self.namespace, limit: 10).isEmpty)
        #expect(try await store.history(of: "c", in: other, limit: 10).map(\.sequence) == [3, 6, 9])
        try await store.close()

        // The read walks one namespace's entries by number (the primary key), not the table.
        let queue = try DatabaseQueue(path: path)
        let plan = try await queue.read { db in
            try Row.fetchAll(db, sql: """
                EXPLAIN QUERY PLAN SELECT sequence FROM memory_changes
                WHERE namespace = 'main' AND key = 'a' ORDER BY sequence DESC LIMIT 10
                """).map { $0["detail"] as String }
        }
        try queue.close()
        #expect(plan == ["SEARCH memory_changes USING PRIMARY KEY (namespace=?)"])
    }

    /// A file that records a migration this version does not know is refused with an error that
    /// names it and says what to do, and nothing in it changes.
    @Test func aFileOfANewerVersionIsRefused() async throws {
        let (path, writer) = try await Self.fileWithAPendingRecord()
        let queue = try DatabaseQueue(path: path)
        try await queue.write { db in
            try db.execute(sql: "INSERT INTO agent_memory_migrations VALUES ('2099-01-01.1-from-the-future', 0)")
        }
        try queue.close()
        let before = try Self.contents(path)

        let error = #expect(throws: MemoryError.self) { _ = try SQLiteMemoryStore(path: path) }
        #expect(error?.code == .unavailable)
        #expect(error?.message == "Cannot open the SQLite store at \(path): the file was written by a newer version of"
            + " AgentMemory (it records the migration '2099-01-01.1-from-the-future', unknown to this version), which"
            + " this version could damage by writing to it; open it with that version or a newer one")
        let after = try Self.contents(path)
        #expect(after.records == before.records)
        #expect(after.migrations == before.migrations)
        #expect(after.pending == 1)
        try await writer.close()
    }

    /// A new file as the version without `identifier` and the migrations after it made it
    /// (``openAsOlderBinary(_:migrations:)``), then `sql` run on it as that version wrote; returns
    /// its path and how many of this version's migrations it lacks.
    static func olderVersionFile(before identifier: String, writing sql: String) async throws -> (path: String, leftOut: Int) {
        let path = try SearchIndexingTests.temporaryPath()
        let previous = SQLiteMigrations.all.prefix { $0.identifier != identifier }
        try openAsOlderBinary(path, migrations: previous)
        let queue = try DatabaseQueue(path: path)
        try await queue.write { db in try db.execute(sql: sql) }
        try queue.close()
        return (path, SQLiteMigrations.all.count - previous.count)
    }

    /// FTS5's `automerge` setting of the index in its file (`nil` when the file has none).
    static func automerge(_ path: String) throws -> Int? {
        try DatabaseQueue(path: SQLiteSearchIndexFile.path(forRecordsAt: path)).read { db in
            try Int.fetchOne(db, sql: "SELECT v FROM memory_fts_config WHERE k = 'automerge'")
        }
    }

    /// The full-text tables of the records' own file.
    static func fullTextTables(_ path: String) throws -> [String] {
        try DatabaseQueue(path: path).read { db in
            try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE name LIKE 'memory_fts%' ORDER BY name")
        }
    }

    /// A new store's index file merges a level at 8 segments. A file of the version before
    /// (the index inside the records' file, with rows still pending for it) moves to the index
    /// file on its first open: the old index and its pending table are dropped, the index file
    /// is built from the records, and search answers as before, pending rows included.
    @Test func theIndexMovesToItsOwnFileMergingEightSegmentsAtATime() async throws {
        let fresh = try SearchIndexingTests.temporaryPath()
        let store = try SQLiteMemoryStore(path: fresh, idleIndexMerge: nil)
        try await store.close()
        #expect(try Self.automerge(fresh) == 8)
        #expect(try Self.fullTextTables(fresh) == ["memory_fts_notes", "memory_fts_notes_by_record"])

        // As that version wrote: one record indexed, one pending (noted), one new above the index.
        let (path, leftOut) = try await Self.olderVersionFile(before: "2026-12-06.1-full-text-index-file", writing: """
            INSERT INTO memory_records (id, namespace, key, value, version, created_at, updated_at, size)
            VALUES (1, 'main', 'notes/fox', '"the quick brown fox"', 1, 0, 0, 21),
                   (2, 'main', 'notes/owl', '"an owl at night"', 1, 0, 0, 18);
            INSERT INTO memory_fts (rowid, key, body) SELECT id, key, body FROM memory_records;
            UPDATE memory_records SET value = '"a jackdaw on the roof"', version = 2 WHERE id = 2;
            INSERT INTO memory_fts_pending (id, key, body) VALUES (2, 'notes/owl', 'an owl at night');
            INSERT INTO memory_records (id, namespace, key, value, version, created_at, updated_at, size)
            VALUES (3, 'main', 'notes/newt', '"a newt in the pond"', 1, 0, 0, 20);
            """)
        #expect(leftOut == 3)
        #expect(try Self.fullTextTables(path).contains("memory_fts_pending"))
        let upgraded = try SQLiteMemoryStore(path: path, idleIndexMerge: nil)
        for (query, keys) in [("fox", ["notes/fox"]), ("jackdaw", ["notes/owl"]), ("owl", ["notes/owl"]), ("night", []), ("newt", ["notes/newt"])] {
            #expect(try await upgraded.search(query, in: Self.namespace, limit: 5).map(\.record.key) == keys, "\(query)")
        }
        try await upgraded.close()
        #expect(try Self.automerge(path) == 8)
        #expect(try Self.fullTextTables(path) == ["memory_fts_notes", "memory_fts_notes_by_record"])
        #expect(try Self.contents(path).migrations.contains("2026-12-06.1-full-text-index-file"))
        try SearchIndexingTests.checkIndex(path)
    }

    /// A file of the version before the notes' index by record (RELIABILITY.md, defect 26) gets
    /// it on its first open, and a new record there is numbered above the highest noted id (a
    /// deleted record's), read through that index rather than a scan of the notes.
    @Test func theNotesGetAnIndexByRecordAndNewRecordsAreNumberedAboveThem() async throws {
        let (path, leftOut) = try await Self.olderVersionFile(before: "2026-12-06.2-notes-by-record", writing: """
            INSERT INTO memory_records (id, namespace, key, value, version, created_at, updated_at, size)
            VALUES (1, 'main', 'notes/fox', '"the quick brown fox"', 1, 0, 0, 21);
            INSERT INTO memory_fts_notes (id, key, body) VALUES (7, 'notes/gone', 'a deleted wren');
            """)
        #expect(leftOut == 2)
        #expect(try Self.fullTextTables(path) == ["memory_fts_notes"])
        let store = try SQLiteMemoryStore(path: path, idleIndexMerge: nil)
        _ = try await store.put("notes/newt", value: "a newt in the pond", in: Self.namespace)
        try await store.close()
        #expect(try Self.fullTextTables(path) == ["memory_fts_notes", "memory_fts_notes_by_record"])
        #expect(try DeferredInsertsTests.ids(path) == ["notes/fox": 1, "notes/newt": 8])
        let reader = try DatabaseQueue(path: path)
        let plan = try await reader.read { db in
            try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN SELECT max(id) FROM memory_fts_notes").map { $0["detail"] as String }
        }
        try reader.close()
        #expect(plan == ["SEARCH memory_fts_notes USING COVERING INDEX memory_fts_notes_by_record"])
        try await SearchIndexingTests.checkIndexAfterAPass(path)
    }

    /// The columns of the records' table.
    static func recordColumns(_ path: String) throws -> [String] {
        try DatabaseQueue(path: path).read { db in
            try String.fetchAll(db, sql: "SELECT name FROM pragma_table_xinfo('memory_records') ORDER BY cid")
        }
    }

    /// A file of the version before loses the generated `body` column on its first open (SQLite
    /// computed it at every write); its records stay as they were, and the index, built from
    /// them with the column's own definition, finds a string's words, an escaped string's and a
    /// number's. A new store's table never has the column.
    @Test func theRecordsLoseTheirBodyColumnAndStaySearchable() async throws {
        let fresh = try SearchIndexingTests.temporaryPath()
        try await SQLiteMemoryStore(path: fresh, idleIndexMerge: nil).close()
        #expect(try !Self.recordColumns(fresh).contains("body"))

        let (path, leftOut) = try await Self.olderVersionFile(before: "2026-12-06.3-records-without-body-column", writing: """
            INSERT INTO memory_records (id, namespace, key, value, version, created_at, updated_at, size)
            VALUES (1, 'main', 'notes/fox', '"the quick brown fox"', 1, 0, 0, 21),
                   (2, 'main', 'notes/owl', '"an \\"owl\\" at night"', 1, 0, 0, 22),
                   (3, 'main', 'count/wrens', '41', 1, 0, 0, 13);
            """)
        #expect(leftOut == 1)
        #expect(try Self.recordColumns(path).contains("body"))
        let store = try SQLiteMemoryStore(path: path, idleIndexMerge: nil)
        #expect(try await store.search("fox", in: Self.namespace, limit: 5).map(\.record.key) == ["notes/fox"])
        #expect(try await store.search("owl", in: Self.namespace, limit: 5).map(\.record.key) == ["notes/owl"])
        #expect(try await store.search("41", in: Self.namespace, limit: 5).map(\.record.key) == ["count/wrens"])
        #expect(try await store.get("notes/owl", in: Self.namespace)?.value == "an \"owl\" at night")
        try await store.close()
        #expect(try Self.recordColumns(path) == [
            "id", "namespace", "key", "value", "version", "created_at", "updated_at", "author", "expires_at", "size",
        ])
        #expect(try Self.contents(path).migrations.contains("2026-12-06.3-records-without-body-column"))
        try SearchIndexingTests.checkIndex(path)
    }
}
