import AgentMemoryCore
import Foundation
import GRDB

extension SQLiteMemoryStore {
    /// Ranked full-text search (FTS5 with Porter stemming, bm25 with key matches weighted
    /// double); the query's stop words are left out unless it has nothing else.
    ///
    /// Three steps: FTS5 ranks its own rows first, without the join to the records (the
    /// namespace lives there) and without building anything for them (no snippet, no record
    /// columns: SQLite's sorter would build those for every match); if enough of the best of
    /// them are live records of `namespace`, they are the answer (bm25 is the same number in
    /// either query, so filtering the top of the whole index keeps the top of the namespace),
    /// else the ranking is done again with the join. Then only the chosen rows are read and
    /// given a snippet.
    public func search(_ query: String, in namespace: Namespace, limit: Int) async throws -> [SearchHit] {
        try ListCursor.validate(limit: limit)
        let terms = SearchText.queryTerms(of: query)
        guard !terms.isEmpty else { return [] }
        // Each word is quoted so that FTS5 syntax in the query is taken literally; any word may match.
        let match = terms.sorted().map { "\"\($0.replacingOccurrences(of: "\"", with: "\"\""))\"" }.joined(separator: " OR ")
        let now = clock().timeIntervalSince1970
        return try await read { db in
            if let ranked = try Self.rankInWholeIndex(match, in: namespace, now: now, limit: limit, db: db) {
                return try Self.hits(ranked, match: match, db: db)
            }
            let ranking = try db.cachedStatement(sql: """
                SELECT memory_fts.rowid, bm25(memory_fts, 2.0, 1.0) AS rank
                FROM memory_fts JOIN memory_records r ON r.id = memory_fts.rowid
                WHERE memory_fts MATCH ? AND r.namespace = ? AND (r.expires_at IS NULL OR r.expires_at > ?)
                ORDER BY rank, r.key LIMIT ?
                """)
            let ranked = try Row.fetchAll(ranking, arguments: [match, namespace.name, now, limit]).map { row in
                (id: row[0] as Int64, rank: row[1] as Double)
            }
            return try Self.hits(ranked, match: match, db: db)
        }
    }

    /// The best `limit` rows of `namespace` from a ranking of the whole index, or `nil` when
    /// the top of the whole index holds too few of them to be sure.
    private static func rankInWholeIndex(
        _ match: String, in namespace: Namespace, now: Double, limit: Int, db: Database
    ) throws -> [(id: Int64, rank: Double)]? {
        let depth = limit * 2 + 10
        let top = try Row.fetchAll(db.cachedStatement(sql: """
            SELECT rowid, bm25(memory_fts, 2.0, 1.0) AS rank FROM memory_fts WHERE memory_fts MATCH ?
            ORDER BY rank LIMIT ?
            """), arguments: [match, depth]).map { (id: $0[0] as Int64, rank: $0[1] as Double) }
        let owner = try db.cachedStatement(sql: """
            SELECT key FROM memory_records WHERE id = ? AND namespace = ? AND (expires_at IS NULL OR expires_at > ?)
            """)
        var kept: [(id: Int64, rank: Double, key: String)] = []
        for hit in top {
            if let key = try String.fetchOne(owner, arguments: [hit.id, namespace.name, now]) {
                kept.append((hit.id, hit.rank, key))
            }
        }
        // Fewer than `limit` kept while the index had more matches: others may be further down.
        guard kept.count >= limit || top.count < depth else { return nil }
        // Equal ranks at the cut could hide a row that sorts first by key: then the full ranking decides.
        if top.count == depth, let last = top.last, kept.count >= limit, kept[limit - 1].rank == last.rank { return nil }
        let ordered = kept.sorted { $0.rank != $1.rank ? $0.rank < $1.rank : $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
        return ordered.prefix(limit).map { (id: $0.id, rank: $0.rank) }
    }

    /// The records and snippets of ranked rows. FTS5 takes the snippet from whichever column
    /// (key or value) matches best; the rowid bound makes FTS5 seek to the one row.
    private static func hits(_ ranked: [(id: Int64, rank: Double)], match: String, db: Database) throws -> [SearchHit] {
        let reading = try db.cachedStatement(sql: """
            SELECT r.key, r.value, r.version, r.created_at, r.updated_at, r.author, r.expires_at,
                   snippet(memory_fts, -1, '[', ']', '…', 12) AS snippet
            FROM memory_fts JOIN memory_records r ON r.id = memory_fts.rowid
            WHERE memory_fts MATCH ? AND memory_fts.rowid = ?
            """)
        return try ranked.compactMap { hit in
            guard let row = try Row.fetchOne(reading, arguments: [match, hit.id]) else { return nil }
            let snippet: String = row[7] ?? ""
            return SearchHit(record: try record(row), score: -hit.rank, snippet: snippet)
        }
    }
}
