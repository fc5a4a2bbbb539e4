import AgentMemoryCore
import Foundation
import GRDB
import GRDBSQLite
import Testing

@testable import AgentMemorySQLite

/// The ranking made from the words' row lists in one call (``SQLiteWordListRanking``) gives
/// the rows and ranks of FTS5's own `bm25(memory_fts, 2.0, 1.0) … ORDER BY rank, rowid LIMIT
/// n` (or of the rank function's, with the counts it is given), to the bit, and counts and
/// declines for a count request as the search needs.
@Suite("SQLite ranking from word lists")
struct WordListRankingTests {
    /// What one call of the function gave: the best rows (rowid, rank) or the statement's
    /// failure, and the request as the function left it.
    struct Call: Sendable {
        var best: [[Double]]?
        /// The request's flags and totals (its pointers stay behind).
        var counted: Bool
        var declined: Bool
        var countsComplete: Bool
        var rows: Int64
        var tokens: Int64
        var counts: [Int64]
    }

    /// Runs the function with a count request over `match` with a request of `limit` and `budget`.
    static func call(_ store: SQLiteMemoryStore, match: String, depth: Int, limit: Int64 = 4_096, budget: Int64 = .max) async throws -> Call {
        try await store.read { db in
            let capacity = 8
            let counts = UnsafeMutablePointer<Int64>.allocate(capacity: capacity)
            defer { counts.deallocate() }
            let reached = UnsafeMutablePointer<Int64>.allocate(capacity: capacity)
            defer { reached.deallocate() }
            let request = UnsafeMutablePointer<SQLiteSearchFunctions.CountRequest>.allocate(capacity: 1)
            request.initialize(to: .init(limit: limit, rowBudget: budget, capacity: capacity, counts: counts, reached: reached))
            defer { request.deallocate() }
            var statement: OpaquePointer?
            let sql = "SELECT \(SQLiteWordListRanking.functionName)(memory_fts, ?1, ?3) FROM memory_fts WHERE memory_fts MATCH ?2 LIMIT 1"
            #expect(sqlite3_prepare_v2(db.sqliteConnection, sql, -1, &statement, nil) == SQLITE_OK)
            defer { sqlite3_finalize(statement) }
            sqlite3_bind_pointer(statement, 1, request, SQLiteSearchFunctions.countRequestType, nil)
            sqlite3_bind_text(statement, 2, match, -1, SQLiteStoredRow.transient)
            sqlite3_bind_int64(statement, 3, Int64(depth))
            var best: [[Double]]?
            if sqlite3_step(statement) == SQLITE_ROW {
                let bytes = Int(sqlite3_column_bytes(statement, 0))
                let buffer = UnsafeRawBufferPointer(start: sqlite3_column_blob(statement, 0), count: bytes)
                best = stride(from: 0, to: bytes, by: 16).map { offset in
                    [Double(buffer.loadUnaligned(fromByteOffset: offset, as: Int64.self)),
                     Double(bitPattern: buffer.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self))]
                }
            }
            let answer = request.pointee
            return Call(
                best: best, counted: answer.counted, declined: answer.declined, countsComplete: answer.countsComplete,
                rows: answer.rows, tokens: answer.tokens, counts: (0..<answer.phrases).map { counts[$0] })
        }
    }

    /// FTS5's own best `depth` rows of `match`.
    static func fts5Best(_ store: SQLiteMemoryStore, match: String, depth: Int) async throws -> [[Double]] {
        try await store.read { db in
            try Row.fetchAll(db, sql: """
                SELECT rowid, bm25(memory_fts, 2.0, 1.0) AS rank FROM memory_fts WHERE memory_fts MATCH ? ORDER BY rank, rowid LIMIT ?
                """, arguments: [match, depth]).map { [$0[0] as Double, $0[1] as Double] }
        }
    }

    @Test func theBestRowsAreFTS5sWithTheirRanksToTheBit() async throws {
        let store = try await SearchStatisticsTests.fruitStore(longTexts: true)
        try await store.catchUpSearchIndex()
        for words in [["apple", "fig", "kiwi"], ["pear", "lime"], ["plum"], ["fig", "nothing"]] {
            let match = words.sorted().map { "\"\($0)\"" }.joined(separator: " OR ")
            let statistics = try #require(try await store.read { db in try SQLiteSearchFunctions.statistics(match: match, limit: 4_096, db: db) })
            let matching = try await store.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM memory_fts WHERE memory_fts MATCH ?", arguments: [match]) ?? 0 }
            #expect(matching > 200)
            for depth in [1, 10, 50, 400] {
                let call = try await Self.call(store, match: match, depth: depth)
                let expected = try await Self.fts5Best(store, match: match, depth: depth)
                #expect(expected.count == min(depth, matching))
                #expect(call.best == expected, "\(words), depth \(depth)")
                // Counted as the statistics function counts.
                #expect(call.counted && !call.declined)
                #expect(call.counts == statistics.words.map { Int64($0.count) })
                #expect(call.rows == statistics.rows && call.tokens == statistics.tokens)
            }
        }
        try await store.close()
    }

    /// Given the row counts instead of a count request (as the pool gives them, a common
    /// word's estimated), the function ranks with those counts: the rows and ranks of the rank
    /// function's own statement with the same counts, to the bit.
    @Test func givenRowCountsItRanksAsTheRankFunctionWithThem() async throws {
        let store = try await SearchStatisticsTests.fruitStore(longTexts: true)
        try await store.catchUpSearchIndex()
        let match = "\"apple\" OR \"fig\" OR \"kiwi\""
        let statistics = try #require(try await store.read { db in try SQLiteSearchFunctions.statistics(match: match, limit: 4_096, db: db) })
        // The exact counts, then "apple"'s as if estimated at half.
        let estimated = [statistics.words[0].count / 2] + statistics.words.dropFirst().map(\.count)
        for hits in [statistics.words.map(\.count), estimated] {
            let counts = SQLiteSearchFunctions.hitsArgument(hits)
            for depth in [1, 10, 50] {
                let (ours, theirs) = try await store.read { db in
                    let ours = try Data.fetchOne(db, sql: """
                        SELECT \(SQLiteWordListRanking.functionName)(memory_fts, ?1, ?3) FROM memory_fts WHERE memory_fts MATCH ?2 LIMIT 1
                        """, arguments: [counts, match, depth]) ?? Data()
                    let theirs = try Row.fetchAll(db, sql: """
                        SELECT memory_fts.rowid, \(SQLiteSearchFunctions.rankFunctionName)(memory_fts, ?1, sizes.sz) AS rank
                        FROM memory_fts LEFT JOIN memory_fts_docsize sizes ON sizes.id = memory_fts.rowid
                        WHERE memory_fts MATCH ?2 ORDER BY rank, memory_fts.rowid LIMIT ?3
                        """, arguments: [counts, match, depth]).map { [$0[0] as Double, $0[1] as Double] }
                    return (ours, theirs)
                }
                let best = stride(from: 0, to: ours.count, by: 16).map { offset in
                    ours.withUnsafeBytes { buffer in
                        [Double(buffer.loadUnaligned(fromByteOffset: offset, as: Int64.self)),
                         Double(bitPattern: buffer.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self))]
                    }
                }
                #expect(best.count == depth)
                #expect(best == theirs, "\(hits), depth \(depth)")
            }
        }
        try await store.close()
    }

    /// A word in `limit` rows or more, or rows past the budget: the statement fails, every
    /// word counted, nothing ranked (the caller ranks another way).
    @Test func aCommonWordOrTooManyRowsDeclinesWithEveryWordCounted() async throws {
        let store = try await SearchStatisticsTests.fruitStore(longTexts: false)
        try await store.catchUpSearchIndex()
        let match = "\"fig\" OR \"kiwi\""
        let statistics = try #require(try await store.read { db in try SQLiteSearchFunctions.statistics(match: match, limit: 100, db: db) })
        let common = try await Self.call(store, match: match, depth: 10, limit: 100)
        #expect(common.best == nil)
        #expect(common.declined && common.countsComplete && !common.counted)
        #expect(common.counts == statistics.words.map { Int64($0.count) })
        #expect(common.counts == [100, 100])
        let whole = try #require(try await store.read { db in try SQLiteSearchFunctions.statistics(match: match, limit: 4_096, db: db) })
        let total = Int64(whole.words.reduce(0) { $0 + $1.count })
        let over = try await Self.call(store, match: match, depth: 10, budget: total - 1)
        #expect(over.best == nil && over.declined && over.countsComplete)
        let within = try await Self.call(store, match: match, depth: 10, budget: total)
        #expect(within.best == (try await Self.fts5Best(store, match: match, depth: 10)))
        try await store.close()
    }

    @Test func theNthLargestIsTheNthOfTheSortedValues() {
        var generator = SystemRandomNumberGenerator()
        for count in [0, 1, 2, 9, 50, 51, 300] {
            let values = (0..<count).map { _ in Double(Int.random(in: 0..<40, using: &generator)) }
            for n in [1, 2, 10, 50] {
                let expected = values.count >= n ? values.sorted(by: >)[n - 1] : -Double.infinity
                #expect(SQLiteWordListRanking.nthLargest(values, n) == expected, "\(n) of \(values)")
            }
        }
    }
}
