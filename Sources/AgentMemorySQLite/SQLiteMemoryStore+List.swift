import AgentMemoryCore
import Foundation
import GRDB
import GRDBSQLite

/// Pages of a namespace's records.
extension SQLiteMemoryStore {
    /// A page of live records in key byte order (SQLite's BINARY collation compares bytes).
    ///
    /// In a process that has not opened GRDB's connections (a `list` command), the page is
    /// read on the point reader (``SQLitePointReader/records(_:bind:)``), as key reads are.
    public func list(in namespace: Namespace, prefix: String?, cursor: String?, limit: Int) async throws -> MemoryPage {
        try ListCursor.validate(limit: limit)
        let after = try cursor.map(ListCursor.decode)
        let now = clock().timeIntervalSince1970
        let prefix = prefix.flatMap { $0.isEmpty ? nil : $0 }
        let upper = prefix.flatMap(Self.upperBound(ofPrefix:))
        var sql = """
            SELECT \(SQLiteStoredRow.columns) FROM memory_records
            WHERE namespace = ? AND (expires_at IS NULL OR expires_at > ?)
            """
        if after != nil { sql += " AND key > ?" }
        if prefix != nil { sql += " AND key >= ?" }
        // The bound's bytes are bound as text as they are: they need not be valid UTF-8, and
        // SQLite compares them byte for byte.
        if upper != nil { sql += " AND key < ?" }
        sql += " ORDER BY key LIMIT ?"
        let name = namespace.name
        let bind: @Sendable (OpaquePointer) -> Int32 = { handle in
            var binder = SQLiteBinder(handle: handle)
            binder.text(name)
            binder.real(now)
            if let after { binder.text(after) }
            if let prefix { binder.text(prefix) }
            if let upper { binder.bytes(upper) }
            binder.integer(Int64(limit) + 1)
            return binder.failure ?? SQLITE_OK
        }
        try checkOpen()
        var records: [MemoryRecord]
        if let pointReader, connections.ifOpened == nil, let read = pointReader.records(sql, bind: bind) {
            records = read
        } else {
            let text = sql
            records = try await read { db in
                // Stepped with SQLite's C API: GRDB's `Row` and its column conversions cost more
                // than the SQL for a page of small records.
                try SQLiteStoredRow.allRecords(db.cachedStatement(sql: text), db: db, bind: bind)
            }
        }
        var next: String?
        if records.count > limit {
            records.removeLast()
            next = records.last.map { ListCursor.encode(afterKey: $0.key) }
        }
        return MemoryPage(records: records, nextCursor: next)
    }

    /// The smallest byte string greater than every string that starts with `prefix`.
    static func upperBound(ofPrefix prefix: String) -> [UInt8]? {
        var bytes = Array(prefix.utf8)
        while let last = bytes.last {
            if last < 0xFF {
                bytes[bytes.count - 1] = last + 1
                return bytes
            }
            bytes.removeLast()
        }
        return nil
    }
}
