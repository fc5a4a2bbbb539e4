import AgentMemoryCore
import AgentMemoryJSON
import Foundation
import GRDBSQLite

/// A connection of the store's own for `get` on the calling thread, through SQLite's C API
/// with one statement kept prepared.
///
/// A point read through GRDB's `DatabasePool.read` spends most of its time checking a reader
/// out of GRDB's pool and back (a semaphore, a lock and a dispatch queue per read; futex waits
/// and wakes in the profile), several times the SQL itself. This connection is used by one
/// caller at a time: a `get` that finds it busy (another task reading) takes GRDB's path
/// instead, so nobody waits for it. In WAL mode each read sees the last commit, like GRDB's
/// readers. Any failure here also falls back to GRDB's path, which reports errors as usual.
final class SQLitePointReader: Sendable {
    private let state: Locked<State>
    private let path: String
    private let busyTimeout: Duration
    private let memoryMapSize: Int

    /// The connection, opened at the first read: a process that only writes never opens it.
    private enum State {
        case notOpened
        case open(Connection)
        /// It could not be opened, or the store closed: every read takes GRDB's path.
        case unavailable
    }

    /// The connection and its prepared statements (used under the lock only).
    private final class Connection {
        var handle: OpaquePointer?
        var select: OpaquePointer?
        /// ``SQLiteStoredRow/selectLiveByKeys``, prepared at its first use.
        var selectMany: OpaquePointer?
        /// `BEGIN` and `COMMIT`, for the reads of several keys in one snapshot.
        var begin: OpaquePointer?
        var commit: OpaquePointer?

        deinit {
            sqlite3_finalize(select)
            sqlite3_finalize(selectMany)
            sqlite3_finalize(begin)
            sqlite3_finalize(commit)
            sqlite3_close_v2(handle)
        }
    }

    /// A reader of the store's file (already created and migrated); the connection opens at
    /// the first read.
    init(path: String, busyTimeout: Duration, memoryMapSize: Int) {
        self.path = path
        self.busyTimeout = busyTimeout
        self.memoryMapSize = memoryMapSize
        state = Locked(.notOpened)
    }

    /// A connection to the file with its statement prepared, or `nil` when it cannot be opened.
    private static func open(path: String, busyTimeout: Duration, memoryMapSize: Int) -> Connection? {
        let connection = Connection()
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX
        var ready = sqlite3_open_v2(path, &connection.handle, flags, nil) == SQLITE_OK
        if ready {
            sqlite3_busy_timeout(connection.handle, Int32(clamping: busyTimeout.components.seconds * 1_000))
            ready = sqlite3_exec(connection.handle, "PRAGMA query_only = 1", nil, nil, nil) == SQLITE_OK
                && sqlite3_exec(connection.handle, "PRAGMA mmap_size = \(memoryMapSize)", nil, nil, nil) == SQLITE_OK
        }
        if ready {
            let persistent = UInt32(SQLITE_PREPARE_PERSISTENT)
            ready = sqlite3_prepare_v3(connection.handle, SQLiteStoredRow.selectLiveByKey, -1, persistent, &connection.select, nil) == SQLITE_OK
                && sqlite3_prepare_v3(connection.handle, "BEGIN", -1, persistent, &connection.begin, nil) == SQLITE_OK
                && sqlite3_prepare_v3(connection.handle, "COMMIT", -1, persistent, &connection.commit, nil) == SQLITE_OK
        }
        return ready ? connection : nil
    }

    /// The connection, opened at the first call; `nil` when it cannot be opened or was closed.
    private func opened(_ state: inout State) -> Connection? {
        if case .notOpened = state {
            state = Self.open(path: path, busyTimeout: busyTimeout, memoryMapSize: memoryMapSize).map(State.open) ?? .unavailable
        }
        guard case .open(let connection) = state else { return nil }
        return connection
    }

    /// The outcome of a read here: `.some(record or nil)` when it ran, `nil` when the caller
    /// must read through GRDB instead (connection busy, closed or failing).
    func get(namespace: String, key: String, now: Double) -> MemoryRecord?? {
        let row = state.withLockIfAvailable { state -> SQLiteStoredRow?? in
            guard let connection = opened(&state), let select = connection.select else { return nil }
            defer {
                sqlite3_reset(select)
                sqlite3_clear_bindings(select)
            }
            sqlite3_bind_text(select, 1, namespace, -1, SQLiteStoredRow.transient)
            sqlite3_bind_text(select, 2, key, -1, SQLiteStoredRow.transient)
            sqlite3_bind_double(select, 3, now)
            switch sqlite3_step(select) {
            case SQLITE_ROW:
                return .some(SQLiteStoredRow(select))
            case SQLITE_DONE:
                return .some(nil)
            default:
                return nil
            }
        }
        // Busy (`nil` from withLockIfAvailable) or failed (`.some(nil)`): GRDB's path.
        guard let ran = row, let found = ran else { return nil }
        guard let found else { return .some(nil) }
        guard let record = try? found.record() else { return nil }
        return .some(record)
    }

    /// The live records under `keys`, read in one snapshot (one read transaction, one statement
    /// for them all); `nil` when the caller must read through GRDB instead
    /// (connection busy, closed or failing).
    ///
    /// What a turn of tool calls prefetches. Through GRDB's `DatabasePool.read` the same reads
    /// spent more time in GRDB's reader checkout, its schema-version check and its
    /// `BEGIN`/`COMMIT` than in the lookups (a profile of the executor, ten calls a turn).
    func get(namespace: String, keys: [MemoryKey], now: Double) -> [MemoryKey: MemoryRecord]? {
        let rows = state.withLockIfAvailable { state -> [(key: MemoryKey, row: SQLiteStoredRow)]? in
            guard let connection = opened(&state), let handle = connection.handle,
                  let begin = connection.begin, let commit = connection.commit
            else { return nil }
            let began = sqlite3_step(begin) == SQLITE_DONE
            sqlite3_reset(begin)
            guard began else { return nil }
            defer {
                // Ends the read transaction; should COMMIT fail, the connection must not stay
                // inside it (it would go on reading this snapshot).
                sqlite3_step(commit)
                sqlite3_reset(commit)
                if sqlite3_get_autocommit(handle) == 0 { sqlite3_exec(handle, "ROLLBACK", nil, nil, nil) }
            }
            if connection.selectMany == nil {
                sqlite3_prepare_v3(handle, SQLiteStoredRow.selectLiveByKeys, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &connection.selectMany, nil)
            }
            guard let selectMany = connection.selectMany else { return nil }
            return try? SQLiteStoredRow.liveRows(selectMany, namespace: namespace, keys: keys, now: now)
        }
        // Busy (`nil` from withLockIfAvailable) or failed (`.some(nil)`): GRDB's path.
        guard let ran = rows, let found = ran else { return nil }
        var records: [MemoryKey: MemoryRecord] = [:]
        records.reserveCapacity(found.count)
        for (key, row) in found {
            guard let record = try? row.record() else { return nil }
            records[key] = record
        }
        return records
    }

    /// Whether the connection is open (it opens at the first read).
    var isOpen: Bool {
        state.withLock { state in
            if case .open = state { return true }
            return false
        }
    }

    /// Closes the connection (waiting for a read in progress); later reads take GRDB's path.
    func close() {
        state.withLock { $0 = .unavailable }
    }
}
