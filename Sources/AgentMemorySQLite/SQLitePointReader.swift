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
        /// ``SQLiteMemoryStore/suggestionSeeks(checkingExpiry:)`` (forward and backward,
        /// checking expiry and not) and ``SQLiteMemoryStore/expiredRowExists``, prepared at
        /// their first use.
        var seeks: [OpaquePointer?] = [nil, nil, nil, nil]
        var expired: OpaquePointer?
        /// The listing's statements (four shapes: with or without a cursor, a prefix, its
        /// bound), prepared at their first use.
        var pages: [String: OpaquePointer] = [:]

        deinit {
            sqlite3_finalize(select)
            sqlite3_finalize(selectMany)
            sqlite3_finalize(begin)
            sqlite3_finalize(commit)
            for seek in seeks { sqlite3_finalize(seek) }
            sqlite3_finalize(expired)
            for page in pages.values { sqlite3_finalize(page) }
            sqlite3_close_v2(handle)
        }

        /// `statement` prepared on this connection and kept, or `nil` when it does not prepare.
        func prepared(_ statement: inout OpaquePointer?, _ sql: String) -> OpaquePointer? {
            if statement == nil, let handle {
                sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
            }
            return statement
        }

        /// `body`'s result, run inside one read transaction (one snapshot); `nil` when the
        /// transaction does not begin.
        func inReadTransaction<T>(_ body: () -> T?) -> T? {
            guard let handle, let begin, let commit else { return nil }
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
            return body()
        }
    }

    /// A reader of the store's file; the connection opens at ``openForReads()`` or at the first
    /// read (the file is then already created and migrated).
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

    /// Opens the connection now and checks that the file can be read as it is: it exists, is in
    /// WAL mode and records exactly this binary's migrations (``SQLiteMigrations/isCurrent(applied:)``).
    /// `false` when it cannot be so read (the connection is then dropped, to be opened again at
    /// the first read): the store opens GRDB's connections at once, which creates, migrates or refuses
    /// the file as it always did.
    ///
    /// What lets a store that only reads keys leave GRDB's connections closed (``SQLitePoolConnections``).
    func openForReads() -> Bool {
        state.withLock { state in
            switch state {
            case .open:
                return true
            case .unavailable:
                return false
            case .notOpened:
                guard let connection = Self.open(path: path, busyTimeout: busyTimeout, memoryMapSize: memoryMapSize),
                      let handle = connection.handle,
                      let applied = Self.rows(handle, SQLiteMigrations.appliedQuery, read: { SQLiteStoredRow.text($0, 0) ?? "" }),
                      SQLiteMigrations.isCurrent(applied: Set(applied)),
                      Self.rows(handle, "PRAGMA journal_mode", read: { SQLiteStoredRow.text($0, 0) }) == ["wal"]
                else { return false }
                state = .open(connection)
                return true
            }
        }
    }

    /// Every row `sql` returns on `handle`, each read by `read` (a statement prepared for this
    /// one use); `nil` when it fails.
    private static func rows<T>(_ handle: OpaquePointer, _ sql: String, read: (OpaquePointer) -> T) -> [T]? {
        var prepared: OpaquePointer?
        defer { sqlite3_finalize(prepared) }
        guard sqlite3_prepare_v2(handle, sql, -1, &prepared, nil) == SQLITE_OK, let statement = prepared else { return nil }
        return try? SQLiteStoredRow.rows(statement, read: read)
    }

    /// Whether the file at the path is no longer the one this connection has open (deleted,
    /// renamed or replaced: ``SQLiteFileCheck/hasMoved(_:)``); `false` when it is not open.
    func fileHasMoved() -> Bool {
        state.withLock { state in
            guard case .open(let connection) = state, let handle = connection.handle else { return false }
            return SQLiteFileCheck.hasMoved(handle)
        }
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
        let row = state.withLockIfAvailable { state -> MemoryRecord?? in
            guard let connection = opened(&state), let select = connection.select else { return nil }
            // The namespace and key are bound without a copy (SQLite reads the strings' own
            // bytes), so the statement runs, and is reset, inside their scope.
            return SQLiteBinder.withBound(namespace, key, to: select) {
                defer {
                    sqlite3_reset(select)
                    sqlite3_clear_bindings(select)
                }
                sqlite3_bind_double(select, 3, now)
                switch sqlite3_step(select) {
                case SQLITE_ROW:
                    // A value that does not parse: GRDB's path, which reports it.
                    return (try? SQLiteStoredRow.record(select)).map { .some($0) }
                case SQLITE_DONE:
                    return .some(nil)
                default:
                    return nil
                }
            }
        }
        // Busy (`nil` from withLockIfAvailable) or failed (`.some(nil)`): GRDB's path.
        guard let ran = row, let found = ran else { return nil }
        return .some(found)
    }

    /// The live records under `keys`, read in one snapshot (one read transaction, one statement
    /// for them all); `nil` when the caller must read through GRDB instead
    /// (connection busy, closed or failing).
    ///
    /// What a turn of tool calls prefetches. Through GRDB's `DatabasePool.read` the same reads
    /// spent more time in GRDB's reader checkout, its schema-version check and its
    /// `BEGIN`/`COMMIT` than in the lookups (a profile of the executor, ten calls a turn).
    func get(namespace: String, keys: [MemoryKey], now: Double) -> [MemoryKey: MemoryRecord]? {
        let records = state.withLockIfAvailable { state -> [MemoryKey: MemoryRecord]? in
            guard let connection = opened(&state) else { return nil }
            return connection.inReadTransaction {
                guard let selectMany = connection.prepared(&connection.selectMany, SQLiteStoredRow.selectLiveByKeys) else { return nil }
                return try? SQLiteStoredRow.liveRecords(selectMany, namespace: namespace, keys: keys, now: now)
            }
        }
        // Busy (`nil` from withLockIfAvailable) or failed (`.some(nil)`): GRDB's path.
        return records ?? nil
    }

    /// Keys near `target` in `namespace` (``KeySuggestionSearch``, the seeks of
    /// ``SQLiteMemoryStore/suggestionSeeks``), read in one snapshot; `nil` when the caller must
    /// read through GRDB instead (connection busy, closed or failing).
    func suggestions(namespace: String, near target: String, limit: Int, now: Double) -> [String]? {
        let keys = state.withLockIfAvailable { state -> [String]? in
            guard let connection = opened(&state) else { return nil }
            return connection.inReadTransaction {
                guard let exists = connection.prepared(&connection.expired, SQLiteMemoryStore.expiredRowExists),
                      let checking = try? SQLiteStoredRow.rows(
                          exists, bind: { sqlite3_bind_double($0, 1, now) }, read: { sqlite3_column_int($0, 0) != 0 }).first
                else { return nil }
                let seeks = SQLiteMemoryStore.suggestionSeeks(checkingExpiry: checking)
                let first = checking ? 0 : 2
                guard let forward = connection.prepared(&connection.seeks[first], seeks.forward),
                      let backward = connection.prepared(&connection.seeks[first + 1], seeks.backward)
                else { return nil }
                return try? KeySuggestionSearch.run(near: target, limit: limit) { seek in
                    try SQLiteStoredRow.rows(seek.direction == .forward ? forward : backward, bind: { handle in
                        SQLiteMemoryStore.bindSuggestionSeek(handle, namespace: namespace, seek: seek, now: now)
                    }, read: { SQLiteStoredRow.text($0, 0) ?? "" })
                }
            }
        }
        return keys ?? nil
    }

    /// The records `sql` returns (a statement over ``SQLiteStoredRow/columns``, its parameters
    /// set by `bind`, which returns SQLite's code for them), prepared at its first use and kept;
    /// `nil` when the caller must read through GRDB instead (connection busy, closed or failing,
    /// or a value that does not parse: GRDB's path reports it). One statement, so one snapshot.
    ///
    /// A page of ``SQLiteMemoryStore/list(in:prefix:cursor:limit:)`` in a process that has not
    /// opened GRDB's connections: a `list` process opened the writer's connection (running the
    /// migration check) and GRDB's read-only pool, two connections, for one read.
    func records(_ sql: String, bind: (OpaquePointer) -> Int32) -> [MemoryRecord]? {
        let records = state.withLockIfAvailable { state -> [MemoryRecord]? in
            guard let connection = opened(&state) else { return nil }
            var statement = connection.pages[sql]
            guard let statement = connection.prepared(&statement, sql) else { return nil }
            connection.pages[sql] = statement
            return try? SQLiteStoredRow.records(statement, bind: bind)
        }
        return records ?? nil
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
