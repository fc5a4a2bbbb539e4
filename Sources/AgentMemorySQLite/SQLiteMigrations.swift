import AgentMemoryCore
import GRDB

/// The SQLite schema as named, ordered migrations.
///
/// Applied migrations are recorded by identifier in `agent_memory_migrations`; a new file gets
/// ``currentSchema`` at once instead. All pending migrations run inside one `BEGIN IMMEDIATE`
/// transaction, so several processes opening a new file at the same moment do not race: the
/// first applies them, the others wait on the lock and then find nothing left to do. (GRDB's
/// `DatabaseMigrator` reads the applied list outside that lock, which is why this small runner
/// exists.)
enum SQLiteMigrations {
    struct Migration {
        let identifier: String
        let sql: String
    }

    static let all: [Migration] = [
        Migration(identifier: records, sql: """
            CREATE TABLE memory_records (
                id INTEGER PRIMARY KEY,
                namespace TEXT NOT NULL,
                key TEXT NOT NULL,
                value TEXT NOT NULL,
                version INTEGER NOT NULL,
                created_at REAL NOT NULL,
                updated_at REAL NOT NULL,
                author TEXT,
                expires_at REAL,
                size INTEGER NOT NULL,
                body TEXT GENERATED ALWAYS AS (
                    CASE WHEN json_type(value) = 'text' THEN json_extract(value, '$') ELSE value END
                ) VIRTUAL,
                UNIQUE (namespace, key)
            );
            CREATE INDEX memory_records_expiry ON memory_records (expires_at) WHERE expires_at IS NOT NULL;
            """),
        Migration(identifier: "2026-11-25.2-full-text", sql: """
            CREATE VIRTUAL TABLE memory_fts USING fts5(
                key, body, content = 'memory_records', content_rowid = 'id', tokenize = 'porter unicode61'
            );
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
            """),
        Migration(identifier: "2026-11-25.3-change-log", sql: """
            \(changeLogTables)
            CREATE INDEX memory_changes_by_key ON memory_changes (namespace, key, sequence);
            CREATE INDEX memory_changes_by_time ON memory_changes (time);
            """),
        // The full-text index is brought up to date once per transaction, at commit
        // (SQLiteSearchIndexing), instead of by a trigger per row: the per-row FTS5 insert was
        // the largest single cost of a write. The index the triggers kept is exact, so it stays.
        Migration(identifier: "2026-11-30.1-full-text-at-commit", sql: """
            DROP TRIGGER IF EXISTS memory_records_fts_insert;
            DROP TRIGGER IF EXISTS memory_records_fts_delete;
            DROP TRIGGER IF EXISTS memory_records_fts_update;
            """),
        // Writes note the rows the full-text index must catch up on instead of writing FTS5
        // (a new FTS5 segment per transaction cost more than the rest of a single put); the
        // index catches up in batches and before a search (SQLiteSearchIndexing). A row here
        // with a key holds the text the index holds for it; one without, that it holds none.
        Migration(identifier: "2026-11-30.2-full-text-catch-up", sql: """
            CREATE TABLE memory_fts_pending (id INTEGER PRIMARY KEY, key TEXT, body TEXT);
            """),
        // Binaries older than the catch-up would write FTS5 rows that do not match what the
        // index holds for a noted row, and so corrupt it; they do not check for migrations
        // they do not know. What they do is run every migration of their own list that the
        // file has not recorded, so this one removes the record of the first of them: an older
        // binary then runs `CREATE TABLE memory_records` again, which fails ("table
        // memory_records already exists"), and its open is refused before it writes anything.
        // This runner counts the first migration as applied wherever this one is.
        Migration(identifier: refuseOlderBinaries, sql: """
            DELETE FROM agent_memory_migrations WHERE identifier = '\(records)';
            """),
        // The change log is pruned by age in number order (SQLiteMemoryStore+ChangeLog), so the
        // index on time, one more page written by every write, goes.
        Migration(identifier: "2026-11-30.4-change-log-without-time-index", sql: """
            DROP INDEX IF EXISTS memory_changes_by_time;
            """),
        // `history` (a person's audit command) reads a key's entries by walking the
        // namespace's log newest first, so the index by key, one more page written by every
        // write, goes too.
        Migration(identifier: "2026-12-01.1-change-log-without-key-index", sql: """
            DROP INDEX IF EXISTS memory_changes_by_key;
            """),
        // FTS5 merges a level of its index once the level holds 8 segments instead of 4 (its
        // `automerge` setting, kept in `memory_fts_config`): each row is rewritten on fewer
        // levels, so a catch-up does less merge work. A search right after a burst of 4,000
        // puts, which indexes them first, took p99 15 to 24 ms instead of 21 to 27 ms; 200,000
        // rows indexed for 13% less CPU, with 16 segments instead of 9 and a search 13% slower
        // until the resting store merges them (BENCHMARKS.md, round thirty-five). The merge
        // work every few catch-ups and the resting store's merges are unchanged (they merge
        // levels of 4 segments or more: FTS5's `usermerge`).
        Migration(identifier: "2026-12-05.1-full-text-automerge-8", sql: """
            INSERT INTO memory_fts (memory_fts, rank) VALUES ('automerge', 8);
            """),
        // The full-text index moves to a file of its own (`SQLiteSearchIndexFile`), built there
        // from the records at its first pass; the records keep the notes of their changes and
        // the stamp that ties an index file to them.
        Migration(identifier: "2026-12-06.1-full-text-index-file", sql: """
            DROP TABLE memory_fts;
            DROP TABLE memory_fts_pending;
            \(searchNoteTables)
            """),
        // New records are numbered above the highest id of a record or a note
        // (`DeferredInserts.firstFreeID`, RELIABILITY.md, defect 26), read whenever another
        // connection wrote the file: without an index, a scan of every note (174 µs at 4,096
        // notes, 1.6 ms at 20,000). Binaries without this migration numbered new records into
        // the index's blind spot; they refuse a file that records it.
        Migration(identifier: "2026-12-06.2-notes-by-record", sql: """
            CREATE INDEX memory_fts_notes_by_record ON memory_fts_notes (id);
            """),
        // SQLite computes every generated column, `VIRTUAL` ones too, at every `INSERT` and
        // `UPDATE`: the `body` column parsed each written value's JSON twice (`json_type`,
        // `json_extract`), 5.8% of the instructions of an `exec` of 2,000 remember calls, for a
        // text only the index's passes read, which compute it themselves (`SQLiteIndexedBody`).
        // A virtual column holds no data: dropping it rewrites no row. Binaries that read the
        // column refuse a file that records this migration.
        Migration(identifier: "2026-12-06.3-records-without-body-column", sql: """
            ALTER TABLE memory_records DROP COLUMN body;
            """),
    ]

    /// Whether the file records every migration of this binary and no other (read only).
    private static func isCurrent(_ db: Database) throws -> Bool {
        // One row of sqlite_master rather than GRDB's `tableExists`, which loads the whole
        // schema into a set of its own types (their first use cost every process about 0.6 ms).
        // Statements from the text as it is (``Database/texts(_:)``), not GRDB's `SQL` literals.
        let table = try db.texts("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'agent_memory_migrations'")
        guard !table.isEmpty else { return false }
        return isCurrent(applied: Set(try db.texts(appliedQuery).map { $0 ?? "" }))
    }

    /// The identifiers of the migrations the file records.
    static let appliedQuery = "SELECT identifier FROM agent_memory_migrations"

    /// Whether `applied`, read from a file's ``appliedQuery``, is every migration of this binary
    /// and no other.
    static func isCurrent(applied: Set<String>) -> Bool {
        var applied = applied
        if applied.contains(refuseOlderBinaries) { applied.insert(records) }
        return applied == Set(all.map(\.identifier))
    }

    /// The first migration, whose record ``refuseOlderBinaries`` removes.
    static let records = "2026-11-25.1-records"

    /// The migration that makes binaries older than the full-text catch-up refuse the file.
    static let refuseOlderBinaries = "2026-11-30.3-refuse-older-binaries"

    /// The change log's tables, as the migration `2026-11-25.3-change-log` made them and as
    /// they still are (its indexes went since).
    static let changeLogTables = """
        CREATE TABLE memory_namespaces (
            namespace TEXT PRIMARY KEY NOT NULL,
            last_sequence INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE memory_changes (
            namespace TEXT NOT NULL,
            sequence INTEGER NOT NULL,
            key TEXT NOT NULL,
            operation TEXT NOT NULL,
            version INTEGER NOT NULL,
            author TEXT,
            time REAL NOT NULL,
            PRIMARY KEY (namespace, sequence)
        ) WITHOUT ROWID;
        """

    /// The records' notes of their changes for the search index, and the stamp that ties an
    /// index file to them, as the migration `2026-12-06.1-full-text-index-file` made them.
    static let searchNoteTables = """
        CREATE TABLE memory_fts_notes (seq INTEGER PRIMARY KEY, id INTEGER NOT NULL, key TEXT NOT NULL, body TEXT NOT NULL);
        CREATE TABLE memory_search_stamp (stamp TEXT NOT NULL);
        INSERT INTO memory_search_stamp (stamp) VALUES (lower(hex(randomblob(16))));
        """

    /// What the migrations above leave in a new file, made at once: a new file skips their
    /// history (creating and dropping the full-text tables of the old layouts cost a new
    /// store's first process about 5M instructions, a third of a `list`'s; BENCHMARKS.md, round
    /// forty-three). The file records every migration as applied but ``records``, as one
    /// migrated step by step does (``refuseOlderBinaries``). `SQLiteMigrationTests` checks that
    /// both ways give the same schema; a new migration changes this text too.
    static let currentSchema = """
        CREATE TABLE memory_records (
            id INTEGER PRIMARY KEY,
            namespace TEXT NOT NULL,
            key TEXT NOT NULL,
            value TEXT NOT NULL,
            version INTEGER NOT NULL,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL,
            author TEXT,
            expires_at REAL,
            size INTEGER NOT NULL,
            UNIQUE (namespace, key)
        );
        CREATE INDEX memory_records_expiry ON memory_records (expires_at) WHERE expires_at IS NOT NULL;
        \(changeLogTables)
        \(searchNoteTables)
        CREATE INDEX memory_fts_notes_by_record ON memory_fts_notes (id);
        """

    /// Records `migration` as applied.
    private static func recordApplied(_ migration: Migration, _ db: Database) throws {
        try db.execute(
            sql: "INSERT INTO agent_memory_migrations (identifier, applied_at) VALUES (?, julianday('now'))",
            arguments: [migration.identifier])
    }

    /// Whether the file holds nothing but the (empty) migrations table and its key's index: a
    /// new file.
    private static func isEmpty(_ db: Database) throws -> Bool {
        try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_master WHERE tbl_name != 'agent_memory_migrations'") == 0
    }

    /// Applies the pending migrations in order, in one immediate transaction; refuses a file
    /// that records a migration this binary does not know (`NewerSchema`), changing nothing.
    /// A file that records exactly this binary's migrations is only read: opening it takes no
    /// write lock, so a process that reads opens while another one writes.
    static func migrate(_ writer: some DatabaseWriter) throws {
        // On the writer's connection (open already), outside a transaction: a read lock only.
        if try writer.writeWithoutTransaction(isCurrent) { return }
        try writer.writeWithoutTransaction { db in
            try db.inTransaction(.immediate) {
                try db.execute(sql: """
                    CREATE TABLE IF NOT EXISTS agent_memory_migrations (
                        identifier TEXT PRIMARY KEY NOT NULL, applied_at REAL NOT NULL)
                    """)
                var applied = Set(try String.fetchAll(db, sql: "SELECT identifier FROM agent_memory_migrations"))
                let unknown = applied.subtracting(all.map(\.identifier))
                if !unknown.isEmpty { throw NewerSchema("the file", unknown: unknown, remedy: "open it with that version or a newer one") }
                if applied.isEmpty, try isEmpty(db) {
                    try db.execute(sql: currentSchema)
                    for migration in all where migration.identifier != records { try recordApplied(migration, db) }
                    return .commit
                }
                if applied.contains(refuseOlderBinaries) { applied.insert(records) }
                for migration in all where !applied.contains(migration.identifier) {
                    try db.execute(sql: migration.sql)
                    try recordApplied(migration, db)
                }
                return .commit
            }
        }
    }
}
