import AgentMemoryCore
import AgentMemoryJSON
import Foundation
import GRDB
import GRDBSQLite

/// A record's columns as stored, read with SQLite's C API from the current row of a statement
/// whose first seven columns are `key, value, version, created_at, updated_at, author,
/// expires_at`; the value stays JSON text until ``record()`` parses it. Used where reading
/// through GRDB's `Row` cost more than the SQL (the point reader, search's neighbour reads).
struct SQLiteStoredRow {
    var key: String
    var json: String
    var version: Int
    var createdAt: Double
    var updatedAt: Double
    var author: String?
    var expiresAt: Double?

    /// The columns this type reads, in its order, for a statement's `SELECT`.
    static let columns = "key, value, version, created_at, updated_at, author, expires_at"

    /// The live record of a key: namespace `?1`, key `?2`, the time `?3` (expired is not live).
    static let selectLiveByKey = """
        SELECT \(columns) FROM memory_records
        WHERE namespace = ?1 AND key = ?2 AND (expires_at IS NULL OR expires_at > ?3)
        """

    /// SQLite's `SQLITE_TRANSIENT`: a bound value is copied at once.
    static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    /// The columns of `statement`'s current row.
    init(_ statement: OpaquePointer) {
        key = Self.text(statement, 0) ?? ""
        json = Self.text(statement, 1) ?? ""
        version = Int(sqlite3_column_int64(statement, 2))
        createdAt = sqlite3_column_double(statement, 3)
        updatedAt = sqlite3_column_double(statement, 4)
        author = Self.text(statement, 5)
        expiresAt = sqlite3_column_type(statement, 6) == SQLITE_NULL ? nil : sqlite3_column_double(statement, 6)
    }

    /// The record, its value parsed.
    func record() throws -> MemoryRecord {
        MemoryRecord(
            key: key, value: try JSONValue(parsing: json), version: version,
            createdAt: Date(timeIntervalSince1970: createdAt), updatedAt: Date(timeIntervalSince1970: updatedAt),
            author: author, expiresAt: expiresAt.map { Date(timeIntervalSince1970: $0) })
    }

    /// The bytes of a text column of the current row (valid until the statement steps again).
    static func bytes(_ statement: OpaquePointer, _ column: Int32) -> UnsafeBufferPointer<UInt8> {
        guard let text = sqlite3_column_text(statement, column) else { return UnsafeBufferPointer(start: nil, count: 0) }
        return UnsafeBufferPointer(start: text, count: Int(sqlite3_column_bytes(statement, column)))
    }

    /// The live rows of `keys` (each key once, in order of first appearance; absent and expired
    /// keys skipped), stepping `select`, a prepared ``selectLiveByKey``, with ``eachKey``.
    static func liveRows(
        _ select: OpaquePointer, namespace: String, keys: [MemoryKey], now: Double
    ) throws(StepFailed) -> [(key: MemoryKey, row: SQLiteStoredRow)] {
        var rows: [(key: MemoryKey, row: SQLiteStoredRow)] = []
        rows.reserveCapacity(keys.count)
        try eachKey(select, namespace: namespace, keys: keys, bind: { sqlite3_bind_double($0, 3, now) }) { index, handle in
            if let handle { rows.append((keys[index], SQLiteStoredRow(handle))) }
        }
        return rows
    }

    /// Steps `select` (namespace `?1`, key `?2`) once per distinct key of `keys`, in order of
    /// first appearance, with SQLite's C API: `found` gets each key's index in `keys` (its
    /// first) with the statement on its row, or `nil` when it has none. The namespace and `bind`'s parameters are bound once
    /// (bindings outlive a reset). Throws the code of a step that fails. The statement is reset
    /// and its bindings cleared.
    static func eachKey(
        _ select: OpaquePointer, namespace: String, keys: [MemoryKey], bind: (OpaquePointer) -> Void = { _ in },
        found: (Int, OpaquePointer?) -> Void
    ) throws(StepFailed) {
        sqlite3_reset(select)
        defer {
            sqlite3_reset(select)
            sqlite3_clear_bindings(select)
        }
        sqlite3_bind_text(select, 1, namespace, -1, transient)
        bind(select)
        var seen = Set<MemoryKey>()
        seen.reserveCapacity(keys.count)
        for (index, key) in keys.enumerated() where seen.insert(key).inserted {
            sqlite3_reset(select)
            sqlite3_bind_text(select, 2, key.rawValue, -1, transient)
            switch sqlite3_step(select) {
            case SQLITE_ROW: found(index, select)
            case SQLITE_DONE: found(index, nil)
            case let code: throw StepFailed(code: code)
            }
        }
    }

    /// A step that returned `code`, neither a row nor the end.
    struct StepFailed: Error {
        let code: Int32
    }

    /// The error of a step that returned `code` on `db`'s connection, with SQLite's message.
    static func error(_ code: Int32, _ db: Database) -> DatabaseError {
        DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(db.sqliteConnection)))
    }

    /// Steps a cached statement once with SQLite's C API, where a GRDB `Row` for one row cost
    /// more than the SQL: `bind` sets its parameters, `read` reads the row; `nil` when it
    /// returns none. The statement is reset and its bindings cleared afterwards.
    static func firstRow<T>(
        _ statement: Statement, db: Database, bind: (OpaquePointer) -> Void = { _ in }, read: (OpaquePointer) -> T
    ) throws -> T? {
        try stepping(statement, bind: bind) { handle in
            switch sqlite3_step(handle) {
            case SQLITE_ROW: return read(handle)
            case SQLITE_DONE: return nil
            case let code: throw error(code, db)
            }
        }
    }

    /// Steps a cached statement to its end with SQLite's C API, like ``firstRow(_:db:bind:read:)``,
    /// reading every row.
    static func allRows<T>(
        _ statement: Statement, db: Database, bind: (OpaquePointer) -> Void = { _ in }, read: (OpaquePointer) -> T
    ) throws -> [T] {
        try stepping(statement, bind: bind) { handle in
            var rows: [T] = []
            while true {
                switch sqlite3_step(handle) {
                case SQLITE_ROW: rows.append(read(handle))
                case SQLITE_DONE: return rows
                case let code: throw error(code, db)
                }
            }
        }
    }

    /// Runs a cached statement that returns no rows (an `UPDATE`, a `DELETE`) with SQLite's C
    /// API, its parameters bound in order by `bind`; throws a failed bind's or step's error.
    static func execute(_ statement: Statement, db: Database, bind: (inout SQLiteBinder) -> Void) throws {
        try stepping(statement, bind: { _ in }) { handle in
            var binder = SQLiteBinder(handle: handle)
            bind(&binder)
            if let failure = binder.failure { throw error(failure, db) }
            let code = sqlite3_step(handle)
            guard code == SQLITE_DONE else { throw error(code, db) }
        }
    }

    /// Runs `body` on a cached statement's handle reset and bound by `bind`; resets it and
    /// clears its bindings afterwards (a statement left stepped holds its read snapshot open).
    private static func stepping<R>(
        _ statement: Statement, bind: (OpaquePointer) -> Void, _ body: (OpaquePointer) throws -> R
    ) throws -> R {
        let handle = statement.sqliteStatement
        sqlite3_reset(handle)
        defer {
            sqlite3_reset(handle)
            sqlite3_clear_bindings(handle)
        }
        bind(handle)
        return try body(handle)
    }

    /// A text column of the current row, or `nil` when it is NULL.
    static func text(_ statement: OpaquePointer, _ column: Int32) -> String? {
        guard sqlite3_column_type(statement, column) != SQLITE_NULL else { return nil }
        return String(decoding: bytes(statement, column), as: UTF8.self)
    }
}
