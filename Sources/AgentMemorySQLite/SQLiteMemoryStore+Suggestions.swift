import AgentMemoryCore
import Foundation
import GRDB

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
            return try KeySuggestionSearch.run(near: target, limit: limit) { seek in
                let statement = seek.direction == .forward ? forward : backward
                return try String.fetchAll(statement, arguments: [name, Data(seek.bound), now, seek.limit])
            }
        }
    }
}
