import AgentMemoryCore
import Foundation
import GRDB

extension SQLiteMemoryStore {
    /// Ranked full-text search (FTS5 with Porter stemming, bm25 with key matches weighted
    /// double); the query's stop words are left out unless it has nothing else.
    ///
    /// Two steps: the best `limit` rows are ranked first without building anything for them
    /// (no snippet, no record columns: SQLite's sorter would build those for every match),
    /// then only those rows are read and given a snippet.
    public func search(_ query: String, in namespace: Namespace, limit: Int) async throws -> [SearchHit] {
        try ListCursor.validate(limit: limit)
        let terms = SearchText.queryTerms(of: query)
        guard !terms.isEmpty else { return [] }
        // Each word is quoted so that FTS5 syntax in the query is taken literally; any word may match.
        let match = terms.sorted().map { "\"\($0.replacingOccurrences(of: "\"", with: "\"\""))\"" }.joined(separator: " OR ")
        let now = clock().timeIntervalSince1970
        return try await read { db in
            let ranking = try db.cachedStatement(sql: """
                SELECT memory_fts.rowid, bm25(memory_fts, 2.0, 1.0) AS rank
                FROM memory_fts JOIN memory_records r ON r.id = memory_fts.rowid
                WHERE memory_fts MATCH ? AND r.namespace = ? AND (r.expires_at IS NULL OR r.expires_at > ?)
                ORDER BY rank, r.key LIMIT ?
                """)
            let ranked = try Row.fetchAll(ranking, arguments: [match, namespace.name, now, limit]).map { row in
                (id: row[0] as Int64, rank: row[1] as Double)
            }
            // FTS5 takes the snippet from whichever column (key or value) matches best; the
            // rowid bound makes FTS5 seek to the one row.
            let reading = try db.cachedStatement(sql: """
                SELECT r.key, r.value, r.version, r.created_at, r.updated_at, r.author, r.expires_at,
                       snippet(memory_fts, -1, '[', ']', '…', 12) AS snippet
                FROM memory_fts JOIN memory_records r ON r.id = memory_fts.rowid
                WHERE memory_fts MATCH ? AND memory_fts.rowid = ?
                """)
            return try ranked.compactMap { hit in
                guard let row = try Row.fetchOne(reading, arguments: [match, hit.id]) else { return nil }
                let snippet: String = row[7] ?? ""
                return SearchHit(record: try Self.record(row), score: -hit.rank, snippet: snippet)
            }
        }
    }
}
