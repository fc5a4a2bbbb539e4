import AgentMemoryCore
import Foundation
import GRDB

extension SQLiteMemoryStore {
    /// BM25's collection statistics from the FTS5 index (the whole index: every namespace):
    /// rows and tokens, and the rows matching each quoted word, counted up to
    /// ``commonWordRows``; beyond, estimated from how far into the rowids the first
    /// ``commonWordRows`` matches reach (FTS5 lists a word's rows in rowid order). One call of
    /// ``SQLiteSearchFunctions``' statistics function; `nil` when no row holds any of the words.
    /// Should FTS5 make no phrase of a word (nothing left of it once tokenized), the phrases
    /// would not line up with the words: then each word is counted on its own. `counted`: the
    /// counts already made (by a ``SQLiteSearchFunctions/CountRequest`` that found a common
    /// word), in the words' order, instead of counting again.
    static func statistics(
        _ quoted: [String], counted: SQLiteSearchFunctions.Counts? = nil, db: Database
    ) throws -> SearchStatistics? {
        guard let found = try counted
            ?? SQLiteSearchFunctions.statistics(match: quoted.joined(separator: " OR "), limit: commonWordRows, db: db)
        else { return nil }
        var counts = found.words
        if counts.count != quoted.count {
            counts = try quoted.map { word in
                try SQLiteSearchFunctions.statistics(match: word, limit: commonWordRows, db: db)?.words.first ?? (0, nil)
            }
        }
        let documents = Int(found.rows)
        let tokens = Int(found.tokens)
        var span: (first: Int64, last: Int64)?
        let frequencies = try counts.map { count, reached -> Int in
            guard count >= commonWordRows, let reached else { return count }
            // Two subqueries: SQLite answers a lone min() or max() with one seek, but reads
            // every row for `SELECT min(id), max(id)` (100 ms at a million records).
            if span == nil, let bounds = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT (SELECT min(id) FROM memory_records), (SELECT max(id) FROM memory_records)")),
               let first = bounds[0] as Int64?, let last = bounds[1] as Int64? {
                span = (first, last)
            }
            guard let span, reached > span.first else { return count }
            let estimate = Double(count) * Double(span.last - span.first + 1) / Double(reached - span.first + 1)
            return min(max(documents, count), Int(estimate.rounded()))
        }
        return SearchStatistics(
            documents: documents, averageLength: Double(tokens) / Double(max(1, documents)), documentFrequencies: frequencies)
    }
}
