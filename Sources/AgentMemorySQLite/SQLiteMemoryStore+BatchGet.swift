import AgentMemoryCore
import Foundation
import GRDB
import GRDBSQLite

extension SQLiteMemoryStore {
    /// The live records under `keys`, read in one transaction with one statement for them all
    /// (the protocol's default opens a read, and a transaction, per key): what a turn of tool
    /// calls prefetches.
    ///
    /// The statement is stepped with SQLite's C API and its rows read as ``SQLiteStoredRow``s:
    /// building GRDB's `Row` and its arguments for each key cost more than the lookup itself
    /// (a profile of `agent-memory exec` with 2,000 `recall` calls). It runs on the
    /// writer's connection after this process's writes (``readAfterWrites(_:)``), else on the
    /// point reader's connection (``SQLitePointReader``) when that is free, else through GRDB.
    public func get(_ keys: [MemoryKey], in namespace: Namespace) async throws -> [MemoryKey: MemoryRecord] {
        guard keys.count > 1 else {
            guard let key = keys.first, let record = try await get(key, in: namespace) else { return [:] }
            return [key: record]
        }
        let now = clock().timeIntervalSince1970
        let name = namespace.name
        if let pointReader {
            try checkOpen()
            if let records = readAfterWrites({ db in try Self.liveRecords(db, namespace: name, keys: keys, now: now) }) {
                return records
            }
            if let records = pointReader.get(namespace: name, keys: keys, now: now) { return records }
        }
        return try await read { db in try Self.liveRecords(db, namespace: name, keys: keys, now: now) }
    }

    /// The live records under `keys`, read on `db` with its cached statement (one for them all),
    /// each row made a record as it is stepped.
    static func liveRecords(_ db: Database, namespace: String, keys: [MemoryKey], now: Double) throws -> [MemoryKey: MemoryRecord] {
        let statement = try db.cachedStatement(sql: SQLiteStoredRow.selectLiveByKeys)
        do {
            return try SQLiteStoredRow.liveRecords(statement.sqliteStatement, namespace: namespace, keys: keys, now: now)
        } catch let failed as SQLiteStoredRow.StepFailed {
            throw SQLiteStoredRow.error(failed.code, db)
        }
    }
}
