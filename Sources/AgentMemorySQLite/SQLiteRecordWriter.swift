import AgentMemoryCore
import Foundation
import GRDB

/// The SQLite side of the write rule, inside one write transaction: reads a key's row, counts
/// the namespace, and writes plans with their change-log entries. Every row it inserts, changes
/// or deletes is reported to ``SQLiteSearchIndexing``, which indexes them at commit.
struct SQLiteRecordWriter: RecordWriter {
    let db: Database
    let namespace: Namespace
    let store: SQLiteMemoryStore

    func row(for key: MemoryKey) throws -> CurrentRow? {
        let statement = try db.cachedStatement(sql: """
            SELECT version, created_at, updated_at, author, expires_at, size, value FROM memory_records
            WHERE namespace = ? AND key = ?
            """)
        guard let row = try Row.fetchOne(statement, arguments: [namespace.name, key.rawValue]) else { return nil }
        let stamp = RecordStamp(
            version: row[0], createdAt: Date(timeIntervalSince1970: row[1]), updatedAt: Date(timeIntervalSince1970: row[2]),
            author: row[3], expiresAt: (row[4] as Double?).map { Date(timeIntervalSince1970: $0) })
        return CurrentRow(stamp: stamp, size: row[5], json: row[6])
    }

    func usage() throws -> NamespaceUsage {
        let statement = try db.cachedStatement(
            sql: "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM memory_records WHERE namespace = ?")
        guard let row = try Row.fetchOne(statement, arguments: [namespace.name]) else { return NamespaceUsage(keys: 0, bytes: 0) }
        return NamespaceUsage(keys: row[0], bytes: row[1])
    }

    func purgeExpired(now: Date) throws -> Int {
        let predicate = "namespace = ? AND expires_at IS NOT NULL AND expires_at <= ?"
        let arguments: StatementArguments = [namespace.name, now.timeIntervalSince1970]
        try store.indexing.willDelete(where: predicate, arguments: arguments, db: db)
        try db.execute(sql: "DELETE FROM memory_records WHERE \(predicate)", arguments: arguments)
        return db.changesCount
    }

    func write(_ plan: WritePlan, replacing row: CurrentRow?) throws {
        switch plan.action {
        case .store(let record, let json, let size):
            let arguments: StatementArguments = [
                json, record.version, record.createdAt.timeIntervalSince1970, record.updatedAt.timeIntervalSince1970,
                record.author, record.expiresAt?.timeIntervalSince1970, size, namespace.name, plan.key.rawValue,
            ]
            if row == nil {
                try db.cachedStatement(sql: """
                    INSERT INTO memory_records (value, version, created_at, updated_at, author, expires_at, size, namespace, key)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """).execute(arguments: arguments)
                store.indexing.didInsert(id: db.lastInsertedRowID)
            } else {
                try store.indexing.willChange(namespace: namespace.name, key: plan.key.rawValue, db: db)
                try db.cachedStatement(sql: """
                    UPDATE memory_records SET value = ?, version = ?, created_at = ?, updated_at = ?, author = ?, expires_at = ?, size = ?
                    WHERE namespace = ? AND key = ?
                    """).execute(arguments: arguments)
            }
        case .remove:
            try store.indexing.willChange(namespace: namespace.name, key: plan.key.rawValue, db: db)
            try db.cachedStatement(sql: "DELETE FROM memory_records WHERE namespace = ? AND key = ?")
                .execute(arguments: [namespace.name, plan.key.rawValue])
        case .none:
            break
        }
        if let change = plan.change { try log(change, key: plan.key) }
    }

    /// Appends one entry to the namespace's change log, numbered from the namespace's counter
    /// (SQLite has one writer at a time, so numbers follow commit order), and now and then
    /// prunes the log.
    private func log(_ change: ChangeDraft, key: MemoryKey) throws {
        let counter = try db.cachedStatement(sql: """
            INSERT INTO memory_namespaces (namespace, last_sequence) VALUES (?, 1)
            ON CONFLICT (namespace) DO UPDATE SET last_sequence = last_sequence + 1
            RETURNING last_sequence
            """)
        guard let sequence = try Int64.fetchOne(counter, arguments: [namespace.name]) else {
            throw MemoryError(.storage, "SQLite returned no sequence number for namespace \"\(namespace)\"")
        }
        try db.cachedStatement(sql: """
            INSERT INTO memory_changes (namespace, sequence, key, operation, version, author, time) VALUES (?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [
                namespace.name, sequence, key.rawValue, change.operation.rawValue, change.version, change.author,
                change.time.timeIntervalSince1970,
            ])
        if store.pruneDue() { try store.pruneChanges(now: change.time, db: db) }
    }
}
