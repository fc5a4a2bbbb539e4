import AgentMemoryCore
import AgentMemoryJSON
import Foundation
import GRDB
import Testing

@testable import AgentMemorySQLite

/// The FTS5 auxiliary function behind SQLite search's BM25 statistics gives exactly what
/// counting each word's rows with SQL gives: rows, tokens, and per word the rows up to the
/// limit with the last rowid reached.
@Suite("SQLite search statistics")
struct SearchStatisticsTests {
    @Test func theFunctionCountsWhatSQLCounts() async throws {
        let path = try SearchIndexingTests.temporaryPath()
        let store = try SQLiteMemoryStore(path: path)
        let namespace = try Namespace("stats")
        let other = try Namespace("stats-other")
        // 5,000 records hold "common" (more than the 4,096 counted), every tenth "rare", three "unique".
        var tokens = 0
        for start in stride(from: 0, to: 5_000, by: 1_000) {
            let puts: [MemoryOperation] = (start..<(start + 1_000)).map { index in
                let text = "common words" + (index % 10 == 0 ? " rare" : "") + (index < 3 ? " unique" : "")
                tokens += 2 + text.split(separator: " ").count  // the key "n/<index>" is two tokens
                return .put(key: MemoryKey(checked: "n/\(index)"), value: .string(text))
            }
            try await store.batch(puts, in: start == 0 ? other : namespace)
        }
        let words = ["common", "rare", "unique", "absent"]
        let limit = SQLiteMemoryStore.commonWordRows
        let (found, expected) = try await store.read { db in
            let found = try SQLiteSearchStatistics.counts(match: words.map { "\"\($0)\"" }.joined(separator: " OR "), limit: limit, db: db)
            let expected = try words.map { word -> (Int, Int64?) in
                let row = try Row.fetchOne(db, sql: """
                    SELECT count(*), max(rowid) FROM (SELECT rowid FROM memory_fts WHERE memory_fts MATCH ? LIMIT ?)
                    """, arguments: ["\"\(word)\"", limit])!
                return (row[0], row[1])
            }
            return (found, expected)
        }
        let counts = try #require(found)
        #expect(counts.rows == 5_000)
        #expect(counts.tokens == Int64(tokens))
        #expect(counts.words.map(\.count) == [4_096, 500, 3, 0])
        #expect(counts.words.map(\.count) == expected.map(\.0))
        #expect(counts.words.map(\.reached) == expected.map(\.1))
        let none = try await store.read { db in
            try SQLiteSearchStatistics.counts(match: "\"absent\" OR \"missing\"", limit: limit, db: db)
        }
        #expect(none == nil)
        // The search built on it: a word in most rows, estimated past the count, still ranks the rare one first.
        let hits = try await store.search("common rare unique", in: namespace, limit: 3)
        #expect(hits.count == 3)
        #expect(try await store.search("unique", in: namespace, limit: 10).isEmpty)
        // The three records holding it first, then the two neighbours that have them in context.
        let unique = try await store.search("unique", in: other, limit: 10).map(\.record.key)
        #expect(unique.prefix(3).sorted() == ["n/0", "n/1", "n/2"])
        #expect(unique.dropFirst(3) == ["n/3", "n/4"])
        try await store.close()
    }
}
