import Foundation
import GRDBSQLite

/// One SQLite connection through the C API with the few prepared statements the baseline runs.
final class RawConnection {
    private var handle: OpaquePointer?
    private var insertRecord: OpaquePointer?
    private var insertChange: OpaquePointer?
    private var selectRecord: OpaquePointer?
    private var indexRows: OpaquePointer?
    /// The first row id not yet in the full-text index.
    private var unindexed: Int64 = 1
    private let shape: RawSQLiteBaseline.Shape
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    init(path: String, synchronous: String, shape: RawSQLiteBaseline.Shape) throws {
        self.shape = shape
        guard sqlite3_open_v2(path, &handle, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, "unix") == SQLITE_OK else {
            throw BenchError("bench: raw SQLite cannot open \(path)")
        }
        try execute("PRAGMA journal_mode = WAL")
        try execute("PRAGMA synchronous = \(synchronous)")
        // The store's tables as a new file gets them (`SQLiteMigrations.currentSchema`),
        // without the full-text index's notes.
        try execute("""
            CREATE TABLE memory_records (
                id INTEGER PRIMARY KEY, namespace TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
                version INTEGER NOT NULL, created_at REAL NOT NULL, updated_at REAL NOT NULL, author TEXT,
                expires_at REAL, size INTEGER NOT NULL, UNIQUE (namespace, key));
            CREATE INDEX memory_records_expiry ON memory_records (expires_at) WHERE expires_at IS NOT NULL;
            CREATE TABLE memory_changes (
                namespace TEXT NOT NULL, sequence INTEGER NOT NULL, key TEXT NOT NULL, operation TEXT NOT NULL,
                version INTEGER NOT NULL, author TEXT, time REAL NOT NULL, PRIMARY KEY (namespace, sequence)) WITHOUT ROWID;
            """)
        insertRecord = try prepare("""
            INSERT INTO memory_records (value, version, created_at, updated_at, author, expires_at, size, namespace, key)
            VALUES (?1, 1, ?2, ?2, NULL, NULL, ?3, 'bench', ?4)
            """)
        insertChange = try prepare("""
            INSERT INTO memory_changes (namespace, sequence, key, operation, version, author, time)
            VALUES ('bench', ?1, ?2, 'put', 1, NULL, ?3)
            """)
        if shape == .recordsChangeAndIndex {
            try execute("""
                CREATE VIRTUAL TABLE memory_fts USING fts5(
                    key, body, content = 'memory_records', content_rowid = 'id', tokenize = 'porter unicode61')
                """)
            // The indexed text as the store's passes compute it (`SQLiteIndexedBody`), in SQL.
            indexRows = try prepare("""
                INSERT INTO memory_fts (rowid, key, body)
                SELECT id, key, CASE WHEN json_type(value) = 'text' THEN json_extract(value, '$') ELSE value END
                FROM memory_records WHERE id BETWEEN ?1 AND ?2
                """)
        }
        selectRecord = try prepare("""
            SELECT key, value, version, created_at, updated_at, author, expires_at FROM memory_records
            WHERE namespace = 'bench' AND key = ?1 AND (expires_at IS NULL OR expires_at > ?2)
            """)
    }

    func execute(_ sql: String) throws {
        guard sqlite3_exec(handle, sql, nil, nil, nil) == SQLITE_OK else { throw failure(sql) }
    }

    private func prepare(_ sql: String) throws -> OpaquePointer? {
        var statement: OpaquePointer?
        guard sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil) == SQLITE_OK else {
            throw failure(sql)
        }
        return statement
    }

    /// One record row (and its change-log row for that shape), bound and stepped.
    func insert(key: String, json: String, sequence: Int64) throws {
        let now = Date().timeIntervalSince1970
        sqlite3_bind_text(insertRecord, 1, json, -1, Self.transient)
        sqlite3_bind_double(insertRecord, 2, now)
        sqlite3_bind_int64(insertRecord, 3, Int64(json.utf8.count + key.utf8.count))
        sqlite3_bind_text(insertRecord, 4, key, -1, Self.transient)
        try step(insertRecord)
        if shape != .records {
            sqlite3_bind_int64(insertChange, 1, sequence)
            sqlite3_bind_text(insertChange, 2, key, -1, Self.transient)
            sqlite3_bind_double(insertChange, 3, now)
            try step(insertChange)
        }
    }

    /// Runs `body` in one immediate transaction and commits it, the rows it inserted indexed
    /// first (for the shape with the index), as the store indexes before each commit.
    func transaction(_ body: () throws -> Void) throws {
        try execute("BEGIN IMMEDIATE")
        try body()
        try indexNewRows()
        try execute("COMMIT")
    }

    /// Indexes the rows inserted since the last call (for the shape with the index), as the
    /// store does before each commit.
    func indexNewRows() throws {
        guard let indexRows else { return }
        let last = sqlite3_last_insert_rowid(handle)
        guard last >= unindexed else { return }
        sqlite3_bind_int64(indexRows, 1, unindexed)
        sqlite3_bind_int64(indexRows, 2, last)
        try step(indexRows)
        unindexed = last + 1
    }

    /// Whether the live row of `key` exists; its columns are read as the store reads them.
    func get(key: String, now: Double) throws -> Bool {
        sqlite3_bind_text(selectRecord, 1, key, -1, Self.transient)
        sqlite3_bind_double(selectRecord, 2, now)
        defer { sqlite3_reset(selectRecord) }
        switch sqlite3_step(selectRecord) {
        case SQLITE_ROW:
            _ = sqlite3_column_text(selectRecord, 0)
            _ = sqlite3_column_text(selectRecord, 1)
            _ = sqlite3_column_int64(selectRecord, 2)
            _ = sqlite3_column_double(selectRecord, 3)
            _ = sqlite3_column_double(selectRecord, 4)
            _ = sqlite3_column_text(selectRecord, 5)
            _ = sqlite3_column_double(selectRecord, 6)
            return true
        case SQLITE_DONE:
            return false
        default:
            throw failure("get")
        }
    }

    private func step(_ statement: OpaquePointer?) throws {
        defer { sqlite3_reset(statement) }
        guard sqlite3_step(statement) == SQLITE_DONE else { throw failure("insert") }
    }

    private func failure(_ what: String) -> BenchError {
        BenchError("bench: raw SQLite failed (\(what.prefix(60))): \(String(cString: sqlite3_errmsg(handle)))")
    }

    func close() {
        for statement in [insertRecord, insertChange, selectRecord, indexRows] { sqlite3_finalize(statement) }
        sqlite3_close_v2(handle)
        handle = nil
    }
}
