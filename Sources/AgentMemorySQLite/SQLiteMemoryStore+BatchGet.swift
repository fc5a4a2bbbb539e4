import AgentMemoryCore
import Foundation
import GRDB

extension SQLiteMemoryStore {
    /// The live records under `keys`, read in one transaction with one prepared statement
    /// (the protocol's default opens a read, and a transaction, per key): what a turn of tool
    /// calls prefetches.
    public func get(_ keys: [MemoryKey], in namespace: Namespace) async throws -> [MemoryKey: MemoryRecord] {
        guard keys.count > 1 else {
            guard let key = keys.first, let record = try await get(key, in: namespace) else { return [:] }
            return [key: record]
        }
        let now = clock().timeIntervalSince1970
        let name = namespace.name
        return try await read { db in
            let statement = try db.cachedStatement(sql: """
                SELECT key, value, version, created_at, updated_at, author, expires_at FROM memory_records
                WHERE namespace = ? AND key = ? AND (expires_at IS NULL OR expires_at > ?)
                """)
            var records: [MemoryKey: MemoryRecord] = [:]
            records.reserveCapacity(keys.count)
            for key in keys where records[key] == nil {
                if let row = try Row.fetchOne(statement, arguments: [name, key.rawValue, now]) {
                    records[key] = try Self.record(row)
                }
            }
            return records
        }
    }
}
