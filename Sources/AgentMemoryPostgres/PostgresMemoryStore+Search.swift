import AgentMemoryCore
import Foundation
import PostgresNIO

extension PostgresMemoryStore {
    /// Ranked full-text search: any query word may match (English stemming), keys weigh
    /// double, snippets from `ts_headline` with matches in `[` `]`.
    public func search(_ query: String, in namespace: Namespace, limit: Int) async throws -> [SearchHit] {
        try ListCursor.validate(limit: limit)
        let terms = SearchText.terms(of: query)
        guard !terms.isEmpty else { return [] }
        // Terms hold only letters and digits; quoting keeps each one a literal lexeme.
        let tsquery = Set(terms).sorted().map { "'\($0)'" }.joined(separator: " | ")
        let now = clockSeconds()
        return try await autocommit { session in
            var binds = StatementBinds()
            let options = binds.text("StartSel=[, StopSel=], MaxWords=12, MinWords=4, MaxFragments=1")
            let sql = """
                SELECT \(Self.recordColumnNames), rank,
                       ts_headline('english'::regconfig, body, query, \(options)) AS body_snippet,
                       ts_headline('english'::regconfig, regexp_replace(key, '[!-/:-@[-`{-~]+', ' ', 'g'), query, \(options)) AS key_snippet
                FROM (
                    SELECT \(Self.recordColumns),
                           CASE WHEN jsonb_typeof(value) = 'string' THEN value #>> '{}' ELSE value_text END AS body,
                           ts_rank('{0.1, 0.2, 0.5, 1.0}', search, query)::float8 AS rank, query
                    FROM memory_records, to_tsquery('english'::regconfig, \(binds.text(tsquery))) AS query
                    WHERE namespace = \(binds.text(namespace.name)) AND search @@ query
                      AND (expires_at IS NULL OR expires_at > \(binds.now(now)))
                    ORDER BY rank DESC, key LIMIT \(binds.int(limit))
                ) hits
                ORDER BY rank DESC, key
                """
            return try await session.rows(sql, binds).map { row in
                let cells = row.makeRandomAccess()
                let bodySnippet = try cells[8].decode(String?.self) ?? ""
                let keySnippet = try cells[9].decode(String?.self) ?? ""
                return SearchHit(
                    record: try Self.record(cells), score: try cells[7].decode(Double.self),
                    snippet: bodySnippet.contains("[") || !keySnippet.contains("[") ? bodySnippet : keySnippet)
            }
        }
    }
}
