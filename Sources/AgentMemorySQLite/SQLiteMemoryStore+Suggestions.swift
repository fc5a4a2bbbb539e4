import AgentMemoryCore
import Foundation
import GRDB
import GRDBSQLite

extension SQLiteMemoryStore {
    /// Keys that resemble `key`, from range seeks in the `(namespace, key)` index (see
    /// ``KeySuggestionSearch``), all in one read on the calling thread; expired and reserved
    /// keys are skipped.
    public func suggestKeys(near key: MemoryKey, in namespace: Namespace, limit: Int) async throws -> [String] {
        let now = clock().timeIntervalSince1970
        let name = namespace.name
        let target = key.rawValue
        // A store whose pool is not open (it has only read keys, as an `exec` of recalls) asks
        // its point reader: a miss then does not open GRDB's pool, 5M instructions.
        if let pointReader, connections.ifOpened == nil {
            try checkOpen()
            if let keys = pointReader.suggestions(namespace: name, near: target, limit: limit, now: now) { return keys }
        }
        return try await read { db in
            let expired = try SQLiteStoredRow.firstRow(db.cachedStatement(sql: Self.expiredRowExists), db: db, bind: { handle in
                sqlite3_bind_double(handle, 1, now)
            }, read: { sqlite3_column_int($0, 0) != 0 }) ?? true
            let seeks = Self.suggestionSeeks(checkingExpiry: expired)
            let forward = try db.cachedStatement(sql: seeks.forward)
            let backward = try db.cachedStatement(sql: seeks.backward)
            // About a hundred seeks a miss: stepped with SQLite's C API, where GRDB's
            // `fetchAll` and its arguments cost more than the seek.
            return try KeySuggestionSearch.run(near: target, limit: limit) { seek in
                try SQLiteStoredRow.allRows(seek.direction == .forward ? forward : backward, db: db, bind: { handle in
                    Self.bindSuggestionSeek(handle, namespace: name, seek: seek, now: now)
                }, read: { handle in SQLiteStoredRow.text(handle, 0) ?? "" })
            }
        }
    }

    /// The two seeks of a key suggestion, forward and backward from a bound: namespace `?1`, the
    /// bound `?2`, the time `?3`, the most keys `?4`. A bound is bytes cast to TEXT: the seeks
    /// step between byte strings that are not always valid UTF-8, and BINARY collation compares
    /// the bytes as they are.
    ///
    /// While no record of the file has expired (``expiredRowExists``, asked in the same read),
    /// the seeks leave the expiry out and read the `(namespace, key)` index alone; with it, each
    /// key found was also looked up in the table for its expiry, which made a miss's fifty-odd
    /// seeks about twice as long. With an expired record they skip it, as before.
    static func suggestionSeeks(checkingExpiry: Bool) -> (forward: String, backward: String) {
        let live = checkingExpiry ? " AND (expires_at IS NULL OR expires_at > ?3)" : ""
        return (
            "SELECT key FROM memory_records WHERE namespace = ?1 AND key >= CAST(?2 AS TEXT)\(live) ORDER BY key LIMIT ?4",
            "SELECT key FROM memory_records WHERE namespace = ?1 AND key < CAST(?2 AS TEXT)\(live) ORDER BY key DESC LIMIT ?4"
        )
    }

    /// One row, one column: 1 when a record of the file has expired at the time `?1` (not yet
    /// purged), else 0; read from the partial index of expiring records.
    static let expiredRowExists = """
        SELECT EXISTS (SELECT 1 FROM memory_records WHERE expires_at IS NOT NULL AND expires_at <= ?1)
        """

    /// Binds one of ``suggestionSeeks`` for `seek`.
    static func bindSuggestionSeek(_ handle: OpaquePointer, namespace: String, seek: KeySeek, now: Double) {
        let transient = SQLiteStoredRow.transient
        sqlite3_bind_text(handle, 1, namespace, -1, transient)
        if seek.bound.isEmpty {
            // A blob bound from no pointer would be NULL, which no key compares with.
            sqlite3_bind_zeroblob(handle, 2, 0)
        } else {
            seek.bound.withUnsafeBytes { bytes in
                _ = sqlite3_bind_blob(handle, 2, bytes.baseAddress, Int32(bytes.count), transient)
            }
        }
        sqlite3_bind_double(handle, 3, now)
        sqlite3_bind_int64(handle, 4, Int64(seek.limit))
    }
}
