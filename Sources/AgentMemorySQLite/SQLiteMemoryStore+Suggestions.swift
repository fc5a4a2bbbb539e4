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
        return try await read { db in
            // A bound is bytes cast to TEXT: the seeks step between byte strings that are not
            // always valid UTF-8, and BINARY collation compares the bytes as they are.
            let forward = try db.cachedStatement(sql: """
                SELECT key FROM memory_records
                WHERE namespace = ? AND key >= CAST(? AS TEXT) AND (expires_at IS NULL OR expires_at > ?)
                ORDER BY key LIMIT ?
                """)
            let backward = try db.cachedStatement(sql: """
                SELECT key FROM memory_records
                WHERE namespace = ? AND key < CAST(? AS TEXT) AND (expires_at IS NULL OR expires_at > ?)
                ORDER BY key DESC LIMIT ?
                """)
            // About a hundred seeks a miss: stepped with SQLite's C API, where GRDB's
            // `fetchAll` and its arguments cost more than the seek.
            let transient = SQLiteStoredRow.transient
            return try KeySuggestionSearch.run(near: target, limit: limit) { seek in
                try SQLiteStoredRow.allRows(seek.direction == .forward ? forward : backward, db: db, bind: { handle in
                    sqlite3_bind_text(handle, 1, name, -1, transient)
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
                }, read: { handle in SQLiteStoredRow.text(handle, 0) ?? "" })
            }
        }
    }
}
