import AgentMemoryCore
import Foundation
import GRDB
import GRDBSQLite

extension SQLiteMemoryStore {
    /// The live records under `keys`, read in one transaction with one prepared statement
    /// (the protocol's default opens a read, and a transaction, per key): what a turn of tool
    /// calls prefetches.
    ///
    /// The statement is stepped with SQLite's C API and its rows read as ``SQLiteStoredRow``s:
    /// building GRDB's `Row` and its arguments for each key cost more than the lookup itself
    /// (a profile of `agent-memory exec` with 2,000 `recall` calls). It runs on the point
    /// reader's connection (``SQLitePointReader``) when that is free, else through GRDB.
    public func get(_ keys: [MemoryKey], in namespace: Namespace) async throws -> [MemoryKey: MemoryRecord] {
        guard keys.count > 1 else {
            guard let key = keys.first, let record = try await get(key, in: namespace) else { return [:] }
            return [key: record]
        }
        let now = clock().timeIntervalSince1970
        let name = namespace.name
        if let pointReader {
            try checkOpen()
            if let records = pointReader.get(namespace: name, keys: keys, now: now) { return records }
        }
        return try await read { db in
            let statement = try db.cachedStatement(sql: SQLiteStoredRow.selectLiveByKey)
            let handle = statement.sqliteStatement
            let transient = SQLiteStoredRow.transient
            sqlite3_reset(handle)
            defer {
                sqlite3_reset(handle)
                sqlite3_clear_bindings(handle)
            }
            // Bindings outlive a reset: the namespace and the time are bound once.
            sqlite3_bind_text(handle, 1, name, -1, transient)
            sqlite3_bind_double(handle, 3, now)
            var records: [MemoryKey: MemoryRecord] = [:]
            records.reserveCapacity(keys.count)
            for key in keys where records[key] == nil {
                sqlite3_reset(handle)
                sqlite3_bind_text(handle, 2, key.rawValue, -1, transient)
                switch sqlite3_step(handle) {
                case SQLITE_ROW:
                    records[key] = try SQLiteStoredRow(handle).record()
                case SQLITE_DONE:
                    continue
                case let code:
                    throw SQLiteStoredRow.error(code, db)
                }
            }
            return records
        }
    }
}
