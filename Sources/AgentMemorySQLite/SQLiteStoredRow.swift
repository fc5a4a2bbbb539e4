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

    /// The live records of several keys in one statement: namespace `?1`, the keys as a JSON
    /// array of strings `?2` (``keyList(_:)``), the time `?3`. For each element of the list, in
    /// its order, SQLite seeks the records' key index, as the statement per key did, without
    /// resetting, binding and halting a statement for each key. A key listed twice gives its row
    /// twice. (`CROSS JOIN` keeps the list the outer loop; `key IN (SELECT value FROM
    /// json_each(?2))` built a temporary index of the list first, a third slower.) The columns
    /// are ``columns``, named by table: `json_each` has a `key` column too.
    static let selectLiveByKeys = """
        SELECT m.key, m.value, m.version, m.created_at, m.updated_at, m.author, m.expires_at
        FROM json_each(?2) AS k CROSS JOIN memory_records AS m
        WHERE m.namespace = ?1 AND m.key = k.value AND (m.expires_at IS NULL OR m.expires_at > ?3)
        """

    /// `keys` as a JSON array of strings, the UTF-8 bytes of ``selectLiveByKeys``'s `?2`,
    /// written and escaped by the JSON writer.
    static func keyList(_ keys: [MemoryKey]) -> [UInt8] {
        JSONValue.array(keys.map { .string($0.rawValue) })
            .jsonBytes(capacity: keys.reduce(2) { $0 + $1.rawValue.utf8.count + 3 })
    }

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

    /// The record in `statement`'s current row (columns as ``init(_:)`` reads them), its value
    /// parsed straight from the column's bytes: a page of records read this way skips a
    /// `String` copy of each value (``SQLiteMemoryStore/list(in:prefix:cursor:limit:)``).
    static func record(_ statement: OpaquePointer) throws -> MemoryRecord {
        MemoryRecord(
            key: text(statement, 0) ?? "", value: try JSONValue(parsing: bytes(statement, 1)),
            version: Int(sqlite3_column_int64(statement, 2)),
            createdAt: Date(timeIntervalSince1970: sqlite3_column_double(statement, 3)),
            updatedAt: Date(timeIntervalSince1970: sqlite3_column_double(statement, 4)),
            author: text(statement, 5),
            expiresAt: sqlite3_column_type(statement, 6) == SQLITE_NULL ? nil : Date(timeIntervalSince1970: sqlite3_column_double(statement, 6)))
    }

    /// The bytes of a text column of the current row (valid until the statement steps again).
    static func bytes(_ statement: OpaquePointer, _ column: Int32) -> UnsafeBufferPointer<UInt8> {
        guard let text = sqlite3_column_text(statement, column) else { return UnsafeBufferPointer(start: nil, count: 0) }
        return UnsafeBufferPointer(start: text, count: Int(sqlite3_column_bytes(statement, column)))
    }

    /// The live records of `keys` (absent and expired keys skipped), stepping `select`, a
    /// prepared ``selectLiveByKeys``, to its end and making each row a record as it comes.
    /// Throws ``StepFailed`` when a step fails, or the error of a value that does not parse. The
    /// statement is reset and its bindings cleared.
    static func liveRecords(_ select: OpaquePointer, namespace: String, keys: [MemoryKey], now: Double) throws -> [MemoryKey: MemoryRecord] {
        var records: [MemoryKey: MemoryRecord] = [:]
        records.reserveCapacity(keys.count)
        var unreadable: (any Error)?
        try eachListedRow(select, namespace: namespace, keys: keys, bind: { sqlite3_bind_double($0, 3, now) }) { handle in
            guard unreadable == nil else { return }
            do {
                let record = try record(handle)
                records[MemoryKey(checked: record.key)] = record
            } catch {
                unreadable = error
            }
        }
        if let unreadable { throw unreadable }
        return records
    }

    /// Steps `select`, a statement over the keys' JSON list (namespace `?1`, the list `?2`, as
    /// ``keyList(_:)`` writes it; `bind` sets any other parameter), to its end with SQLite's C
    /// API, handing `row` the statement on each row. Throws the code of a step that fails. The
    /// statement is reset and its bindings cleared.
    static func eachListedRow(
        _ select: OpaquePointer, namespace: String, keys: [MemoryKey], bind: (OpaquePointer) -> Void = { _ in },
        row: (OpaquePointer) -> Void
    ) throws(StepFailed) {
        sqlite3_reset(select)
        defer {
            sqlite3_reset(select)
            sqlite3_clear_bindings(select)
        }
        _ = SQLiteBinder.bind(namespace, to: select, at: 1)
        let list = keyList(keys)
        list.withUnsafeBufferPointer { bytes in
            bytes.withMemoryRebound(to: CChar.self) { _ = sqlite3_bind_text(select, 2, $0.baseAddress, Int32($0.count), transient) }
        }
        bind(select)
        while true {
            switch sqlite3_step(select) {
            case SQLITE_ROW: row(select)
            case SQLITE_DONE: return
            case let code: throw StepFailed(code: code)
            }
        }
    }

    /// Every row of `statement`, each read by `read`, stepped to its end with SQLite's C API
    /// after `bind` sets its parameters; throws the code of a step that fails. The statement is
    /// reset and its bindings cleared.
    static func rows<T>(
        _ statement: OpaquePointer, bind: (OpaquePointer) -> Void = { _ in }, read: (OpaquePointer) -> T
    ) throws(StepFailed) -> [T] {
        sqlite3_reset(statement)
        defer {
            sqlite3_reset(statement)
            sqlite3_clear_bindings(statement)
        }
        bind(statement)
        var rows: [T] = []
        while true {
            switch sqlite3_step(statement) {
            case SQLITE_ROW: rows.append(read(statement))
            case SQLITE_DONE: return rows
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
    /// reading every row (``rows(_:bind:read:)``, its failure as `db`'s error).
    static func allRows<T>(
        _ statement: Statement, db: Database, bind: (OpaquePointer) -> Void = { _ in }, read: (OpaquePointer) -> T
    ) throws -> [T] {
        do {
            return try rows(statement.sqliteStatement, bind: bind, read: read)
        } catch {
            throw Self.error(error.code, db)
        }
    }

    /// Every row of a cached statement, as records (``records(_:bind:)``); throws a failed
    /// bind's or step's error as `db`'s, or the error of a value that does not parse.
    static func allRecords(_ statement: Statement, db: Database, bind: (OpaquePointer) -> Int32 = { _ in SQLITE_OK }) throws -> [MemoryRecord] {
        do {
            return try records(statement.sqliteStatement, bind: bind)
        } catch let failed as StepFailed {
            throw error(failed.code, db)
        }
    }

    /// Every row of `statement` as a record (``record(_:)``), stepped to its end with SQLite's
    /// C API after `bind` sets its parameters and returns SQLite's code for them. Throws
    /// ``StepFailed`` for a bind or step that fails, or the error of a value that does not
    /// parse. The statement is reset and its bindings cleared.
    static func records(_ statement: OpaquePointer, bind: (OpaquePointer) -> Int32) throws -> [MemoryRecord] {
        sqlite3_reset(statement)
        defer {
            sqlite3_reset(statement)
            sqlite3_clear_bindings(statement)
        }
        let bound = bind(statement)
        guard bound == SQLITE_OK else { throw StepFailed(code: bound) }
        var records: [MemoryRecord] = []
        while true {
            switch sqlite3_step(statement) {
            case SQLITE_ROW: records.append(try record(statement))
            case SQLITE_DONE: return records
            case let code: throw StepFailed(code: code)
            }
        }
    }

    /// Runs a cached statement that returns no rows (an `UPDATE`, a `DELETE`) with SQLite's C
    /// API, its parameters bound in order by `bind` (text from `arena` when given, which is
    /// reset once the bindings are cleared); throws a failed bind's or step's error.
    static func execute(_ statement: Statement, db: Database, arena: SQLiteTextArena? = nil, bind: (inout SQLiteBinder) -> Void) throws {
        defer { arena?.reset() }
        try stepping(statement, bind: { _ in }) { handle in
            var binder = SQLiteBinder(handle: handle, arena: arena)
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
