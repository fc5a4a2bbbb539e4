import AgentMemoryCore
import GRDB
import GRDBSQLite

/// New record rows and change-log entries of one write, held back and inserted with multi-row
/// statements (up to 64 rows each) instead of one statement per row: a batch of 1,000 puts
/// runs a few dozen statements, not 2,000.
///
/// Held rows are not in the database until ``flush(_:indexing:)``: the record writer flushes
/// before any statement that could see them (a read of a held key, the namespace's usage, a
/// purge, a prune) and at the end of every write. The rows are kept typed and bound with
/// SQLite's C API: building GRDB's `StatementArguments` from existentials was a third of a
/// batch's inserts.
final class DeferredInserts {
    /// A new record row.
    struct RecordRow {
        var json: String
        var version: Int
        var createdAt: Double
        var updatedAt: Double
        var author: String?
        var expiresAt: Double?
        var size: Int
        var namespace: String
        var key: String
    }

    /// A change-log entry.
    struct ChangeRow {
        var namespace: String
        var sequence: Int64
        var key: String
        var operation: String
        var version: Int
        var author: String?
        var time: Double
    }

    private var records: [RecordRow] = []
    private var changes: [ChangeRow] = []
    /// The keys of the held record rows, made at the first ``holds(_:)`` and kept up to date
    /// from then on: a batch whose rows were read ahead never asks, and hashing every key into
    /// a set it never used was a tenth of a batch's own (Swift) time.
    private var heldKeys: Set<String>?

    private static let largestStatement = 64

    /// `head (?, ...), (?, ...) tail` for each statement size (1, 2, 4, ... ``largestStatement``
    /// rows of `columns` values), made once: built per write, the text cost microseconds.
    ///
    /// Appended as bytes: the stdlib's `joined(separator:)` is not specialized for arrays of
    /// strings, and its first call in a process made the runtime build its generic metadata
    /// from mangled names, scanning every conformance record of the binary (570,000
    /// instructions of every process that wrote); appending strings took 170,000 for the
    /// change log's seven texts (BENCHMARKS.md, round forty-seven).
    private static func statements(columns: Int, head: String, tail: String) -> [Int: SQLiteStatementText] {
        var tuple: [UInt8] = [UInt8(ascii: "(")]
        for column in 0..<columns { tuple += column == 0 ? [UInt8(ascii: "?")] : Array(", ?".utf8) }
        tuple.append(UInt8(ascii: ")"))
        let separator = Array(", ".utf8)
        var sql: [Int: SQLiteStatementText] = [:]
        var size = 1
        while size <= largestStatement {
            var text = Array(head.utf8)
            text.reserveCapacity(text.count + size * (tuple.count + 2) + tail.utf8.count)
            for row in 0..<size {
                if row > 0 { text.append(contentsOf: separator) }
                text.append(contentsOf: tuple)
            }
            text += Array(tail.utf8)
            sql[size] = SQLiteStatementText(String(decoding: text, as: UTF8.self))
            size *= 2
        }
        return sql
    }

    /// The record inserts, each row with its id given (see ``flush(_:indexing:)``).
    ///
    /// `OR FAIL`: a failing statement keeps the rows it inserted before the failure, where the
    /// default (`ABORT`) undoes them, for which SQLite keeps a statement journal of every page
    /// the statement changes, in a temporary file past 64 KiB (opened, written and deleted for
    /// each statement: with the new keys of a group commit spread over the key index, that was
    /// two thirds of the inserts' time). Every caller rolls back the whole savepoint or
    /// transaction when an insert fails, so nothing partial is ever kept.
    private static let recordInserts = statements(
        columns: 10, head: "INSERT OR FAIL INTO memory_records (id, value, version, created_at, updated_at, author, expires_at, size, namespace, key) VALUES ",
        tail: "")

    /// The record inserts with the ids left to SQLite, returning them; only when the highest
    /// id leaves no room above it for the held rows (SQLite then picks unused ids at random).
    private static let recordInsertsReturningIDs = statements(
        columns: 9, head: "INSERT OR FAIL INTO memory_records (value, version, created_at, updated_at, author, expires_at, size, namespace, key) VALUES ",
        tail: " RETURNING id")

    /// The change-log inserts.
    private static let changeInserts = statements(
        columns: 7, head: "INSERT OR FAIL INTO memory_changes (namespace, sequence, key, operation, version, author, time) VALUES ", tail: "")

    var isEmpty: Bool { records.isEmpty && changes.isEmpty }

    /// Holds a new record row.
    func holdRecord(_ row: RecordRow) {
        records.append(row)
        heldKeys?.insert(row.key)
    }

    /// Whether a new row of `key` is held (so that a read of the key must flush first).
    func holds(_ key: MemoryKey) -> Bool {
        guard !records.isEmpty else { return false }
        if let heldKeys { return heldKeys.contains(key.rawValue) }
        let keys = Set(records.lazy.map(\.key))
        heldKeys = keys
        return keys.contains(key.rawValue)
    }

    /// Holds a change-log entry.
    func holdChange(_ row: ChangeRow) {
        changes.append(row)
    }

    /// Inserts what is held; reports each new record's id to `indexing`.
    ///
    /// New records are numbered one above the highest id of a record or a note (as SQLite
    /// numbers a row inserted without an id, but counting the ids of the notes too, so that a
    /// new record is never numbered at or below an id the full-text index may hold: see
    /// ``SQLiteSearchIndexFile``), by this code: the ids follow from one read of the highest, where
    /// `RETURNING id` made SQLite build a temporary table per statement to hold the ids it
    /// returned (its pager opened and closed each time: about a seventh of the inserts' time in
    /// a single put, and batches went 10% faster without it).
    func flush(_ db: Database, indexing: SQLiteSearchIndexing, statements: SQLiteWriterStatements) throws {
        if !records.isEmpty {
            if let first = try Self.firstFreeID(db, room: records.count, statements: statements) {
                var next = first
                try Self.insert(
                    records, sql: Self.recordInserts, db: db, statements: statements,
                    bind: { binder, row in
                        binder.integer(next)
                        next += 1
                        Self.bind(&binder, row)
                    },
                    returned: { _ in })
                indexing.didInsert(ids: first..<next)
                statements.memo.noteHighestID(next - 1)
            } else {
                statements.memo.noteHighestID(nil)
                try Self.insert(
                    records, sql: Self.recordInsertsReturningIDs, db: db, statements: statements, bind: Self.bind,
                    returned: { handle in indexing.didInsert(pickedID: sqlite3_column_int64(handle, 0)) })
            }
            records.removeAll(keepingCapacity: true)
            heldKeys = nil
        }
        if !changes.isEmpty {
            try Self.insert(
                changes, sql: Self.changeInserts, db: db, statements: statements,
                bind: { binder, row in
                    binder.text(row.namespace)
                    binder.integer(row.sequence)
                    binder.text(row.key)
                    binder.text(row.operation)
                    binder.integer(Int64(row.version))
                    binder.text(row.author)
                    binder.real(row.time)
                },
                returned: { _ in })
            changes.removeAll(keepingCapacity: true)
        }
    }

    /// Binds a record row's columns after its id, in the order of ``recordInserts``.
    private static func bind(_ binder: inout SQLiteBinder, _ row: RecordRow) {
        binder.text(row.json)
        binder.integer(Int64(row.version))
        binder.real(row.createdAt)
        binder.real(row.updatedAt)
        binder.text(row.author)
        binder.real(row.expiresAt)
        binder.integer(Int64(row.size))
        binder.text(row.namespace)
        binder.text(row.key)
    }

    /// One above the highest id of a record or a note (1 for empty tables), or `nil` when
    /// `room` ids above the highest would pass the largest id SQLite allows.
    ///
    /// The notes count because the index's `through` (the highest record id of its last pass's
    /// snapshot) is the id of a record that still exists, or that was changed or deleted since
    /// that pass and so has a note past the index's mark, which no writer deletes (writers
    /// delete only notes a pass applied). One above the records alone, a store that had not
    /// seen the highest records deleted numbered a new record into the gap below them, at or
    /// under `through`, where no pass looked (RELIABILITY.md, defect 26). The writer's memo
    /// keeps the highest id it gave, deletes notwithstanding, so the read runs only when
    /// another connection wrote the file.
    static func firstFreeID(_ db: Database, room: Int, statements: SQLiteWriterStatements) throws -> Int64? {
        let highest = try statements.memo.highestID ?? SQLiteStoredRow.firstRow(statements.statement(selectHighestID, db), db: db) {
            sqlite3_column_int64($0, 0)
        } ?? 0
        guard highest <= Int64.max - Int64(room) else { return nil }
        return highest + 1
    }

    private static let selectHighestID = SQLiteStatementText("""
        SELECT max(COALESCE((SELECT max(id) FROM memory_records), 0), COALESCE((SELECT max(id) FROM memory_fts_notes), 0))
        """)

    /// Runs the statements of `sql` (see ``statements(columns:head:tail:)``) over `rows`, 64, 32, ... 1 rows each
    /// (a handful of shapes, so that each stays prepared in the connection's statement cache),
    /// handing each row the statement returns to `returned`. On the writer's connection each
    /// statement's text parameters are bound from its ``SQLiteTextArena``, reset once the
    /// statement's bindings are cleared.
    private static func insert<Held>(
        _ rows: [Held], sql: [Int: SQLiteStatementText], db: Database, statements: SQLiteWriterStatements,
        bind: (inout SQLiteBinder, Held) -> Void, returned: (OpaquePointer) -> Void
    ) throws {
        let arena = statements.textArena(db)
        var start = 0
        while start < rows.count {
            var size = largestStatement
            while size > rows.count - start { size /= 2 }
            let statement = try statements.statement(sql[size]!, db)
            let handle = statement.sqliteStatement
            sqlite3_reset(handle)
            defer {
                sqlite3_reset(handle)
                sqlite3_clear_bindings(handle)
                arena?.reset()
            }
            var binder = SQLiteBinder(handle: handle, arena: arena)
            for row in rows[start..<(start + size)] { bind(&binder, row) }
            if let failure = binder.failure { throw SQLiteStoredRow.error(failure, db) }
            while true {
                let code = sqlite3_step(handle)
                if code == SQLITE_ROW {
                    returned(handle)
                } else if code == SQLITE_DONE {
                    break
                } else {
                    throw SQLiteStoredRow.error(code, db)
                }
            }
            start += size
        }
    }
}
