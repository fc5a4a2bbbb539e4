import AgentMemoryCore
import Foundation
import GRDB

extension SQLiteMemoryStore {
    /// Ranked full-text search (FTS5, bm25 with key matches weighted double).
    public func search(_ query: String, in namespace: Namespace, limit: Int) async throws -> [SearchHit] {
        try ListCursor.validate(limit: limit)
        let terms = SearchText.terms(of: query)
        guard !terms.isEmpty else { return [] }
        // Each word is quoted so that FTS5 syntax in the query is taken literally; any word may match.
        let match = Array(Set(terms)).sorted().map { "\"\($0.replacingOccurrences(of: "\"", with: "\"\""))\"" }.joined(separator: " OR ")
        let now = clock().timeIntervalSince1970
        return try await read { db in
            let statement = try db.cachedStatement(sql: """
                SELECT r.key, r.value, r.version, r.created_at, r.updated_at, r.author, r.expires_at,
                       bm25(memory_fts, 2.0, 1.0) AS rank,
                       snippet(memory_fts, -1, '[', ']', '…', 12) AS snippet
                FROM memory_fts JOIN memory_records r ON r.id = memory_fts.rowid
                WHERE memory_fts MATCH ? AND r.namespace = ? AND (r.expires_at IS NULL OR r.expires_at > ?)
                ORDER BY rank LIMIT ?
                """)
            return try Row.fetchAll(statement, arguments: [match, namespace.name, now, limit]).map { row in
                // FTS5 takes the snippet from whichever column (key or value) matches best.
                let rank: Double = row[7]
                let snippet: String = row[8] ?? ""
                return SearchHit(record: try Self.record(row), score: -rank, snippet: snippet)
            }
        }
    }
}
