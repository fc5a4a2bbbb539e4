import AgentMemoryCore
import AgentMemoryJSON
import Foundation
import GRDB
import Synchronization
import Testing

@testable import AgentMemorySQLite

/// The rank function, asked for a statement's best DEPTH rows only, skips reading the length of
/// a row that cannot be among them (``SQLiteRankState``): the best rows keep FTS5's exact
/// `bm25`, each skipped row gets a bound at least as good as its real rank, and a known FLOOR
/// skips rows from the first.
@Suite("SQLite rank skipping")
struct RankSkippingTests {
    /// The rank function's and FTS5's `bm25`, row by row in rowid order, for `match` over the
    /// fruit store; ours with DEPTH and FLOOR as given, lengths read by the function.
    private static func ranks(
        _ store: SQLiteMemoryStore, match: String, depth: Int, floor: Double?
    ) async throws -> (ours: [[Double]], theirs: [[Double]]) {
        try await store.read { db in
            let counts = try #require(try SQLiteSearchFunctions.statistics(match: match, limit: 4_096, db: db))
            let hits = SQLiteSearchFunctions.hitsArgument(counts.words.map(\.count))
            let ours = try Row.fetchAll(db, sql: """
                SELECT rowid, \(SQLiteSearchFunctions.rankFunctionName)(memory_fts, ?, NULL, ?, ?)
                FROM memory_fts WHERE memory_fts MATCH ? ORDER BY rowid
                """, arguments: [hits, depth, floor, match]).map { [$0[0] as Double, $0[1] as Double] }
            let theirs = try Row.fetchAll(db, sql: """
                SELECT rowid, bm25(memory_fts, 2.0, 1.0) FROM memory_fts WHERE memory_fts MATCH ? ORDER BY rowid
                """, arguments: [match]).map { [$0[0] as Double, $0[1] as Double] }
            return (ours, theirs)
        }
    }

    /// The best `depth` rows by rank (rowid breaking ties).
    private static func best(_ rows: [[Double]], _ depth: Int) -> [[Double]] {
        Array(rows.sorted { $0[1] != $1[1] ? $0[1] < $1[1] : $0[0] < $1[0] }.prefix(depth))
    }

    @Test func theBestRowsKeepTheirExactRanksAndSkippedRowsGetABound() async throws {
        let store = try await SearchStatisticsTests.fruitStore(longTexts: true)
        try await store.catchUpSearchIndex()
        let match = ["\"apple\"", "\"fig\"", "\"kiwi\""].joined(separator: " OR ")
        for depth in [1, 10, 50] {
            let (ours, theirs) = try await Self.ranks(store, match: match, depth: depth, floor: nil)
            #expect(ours.count == theirs.count)
            #expect(ours.count > 200)
            // The same best rows with the same ranks, to the bit.
            #expect(Self.best(ours, depth) == Self.best(theirs, depth))
            // Every other row: its exact rank, or a bound no worse (ranks are negated scores).
            #expect(zip(ours, theirs).allSatisfy { mine, fts5 in mine[0] == fts5[0] && mine[1] <= fts5[1] })
            let skipped = zip(ours, theirs).filter { $0[1] != $1[1] }.count
            #expect(skipped > ours.count / 4, "depth \(depth): \(skipped) of \(ours.count) rows skipped")
        }
        // The same in the statement the search runs: ordered by rank, DEPTH its LIMIT.
        let (top, expected) = try await store.read { db in
            let counts = try #require(try SQLiteSearchFunctions.statistics(match: match, limit: 4_096, db: db))
            let hits = SQLiteSearchFunctions.hitsArgument(counts.words.map(\.count))
            let top = try Row.fetchAll(db, sql: """
                SELECT rowid, \(SQLiteSearchFunctions.rankFunctionName)(memory_fts, ?1, NULL, ?3) AS rank
                FROM memory_fts WHERE memory_fts MATCH ?2 ORDER BY rank, rowid LIMIT ?3
                """, arguments: [hits, match, 10]).map { [$0[0] as Double, $0[1] as Double] }
            let expected = try Row.fetchAll(db, sql: """
                SELECT rowid, bm25(memory_fts, 2.0, 1.0) AS rank FROM memory_fts WHERE memory_fts MATCH ? ORDER BY rank, rowid LIMIT 10
                """, arguments: [match]).map { [$0[0] as Double, $0[1] as Double] }
            return (top, expected)
        }
        #expect(top.count == 10)
        #expect(top == expected)
        try await store.close()
    }

    /// A floor the best rows are known to reach (here the tenth best score itself) skips rows
    /// before ten have been ranked, and changes nothing among the best.
    @Test func aKnownFloorSkipsRowsFromTheFirst() async throws {
        let store = try await SearchStatisticsTests.fruitStore(longTexts: true)
        try await store.catchUpSearchIndex()
        let match = ["\"pear\"", "\"lime\""].joined(separator: " OR ")
        let (without, theirs) = try await Self.ranks(store, match: match, depth: 10, floor: nil)
        let tenth = -Self.best(theirs, 10)[9][1]
        let (with, _) = try await Self.ranks(store, match: match, depth: 10, floor: tenth)
        #expect(Self.best(with, 10) == Self.best(theirs, 10))
        #expect(zip(with, theirs).allSatisfy { mine, fts5 in mine[0] == fts5[0] && mine[1] <= fts5[1] })
        let skippedWithout = zip(without, theirs).filter { $0[1] != $1[1] }.count
        let skippedWith = zip(with, theirs).filter { $0[1] != $1[1] }.count
        #expect(skippedWith > skippedWithout)
        // Ten rows are ranked exactly before the first is skipped without the floor.
        #expect(Array(without.prefix(10)) == Array(theirs.prefix(10)))
        #expect(Array(with.prefix(10)) != Array(theirs.prefix(10)))
        try await store.close()
    }

    /// With a common word (4,096 rows or more) whose rare companion's rows are all long, the
    /// rare word's rows cannot settle the pool, and the ranking of every row, which starts from
    /// the floor they set, still finds the short row holding the common word alone that ranks
    /// first; the in-memory store answers the same. The same from the words' row lists (their
    /// 8,334 rows are within ``SQLiteMemoryStore/wordListRows``) and without them.
    @Test(arguments: [true, false])
    func theRankingOfEveryRowFindsACommonWordsShortRowAboveTheRareWordsRows(wordLists: Bool) async throws {
        let path = try SearchIndexingTests.temporaryPath()
        let store = try SQLiteMemoryStore(path: path)
        if !wordLists { store.wordListRowLimit.store(0, ordering: .relaxed) }
        let namespace = try Namespace("floor")
        let filler = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet"]
        let short = 12_345
        let operations: [MemoryOperation] = (0..<20_000).map { index in
            let text: String
            if index == short {
                text = "lunch lunch"
            } else if index % 6 == 1 {
                // The rare word (3,334 rows) in long rows.
                text = (["quokka"] + filler + filler + filler).joined(separator: " ")
            } else if index % 4 == 0 {
                text = (["lunch"] + filler.prefix(6)).joined(separator: " ")
            } else {
                text = filler.prefix(7).joined(separator: " ")
            }
            return .put(key: MemoryKey(checked: "k/\(index)"), value: .string(text))
        }
        let memory = InMemoryMemoryStore()
        for start in stride(from: 0, to: operations.count, by: 2_000) {
            try await store.batch(Array(operations[start..<(start + 2_000)]), in: namespace)
            try await memory.batch(Array(operations[start..<(start + 2_000)]), in: namespace)
        }
        let hits = try await store.search("quokka lunch", in: namespace, limit: 10)
        #expect(hits.first?.record.key == "k/\(short)")
        #expect(hits.count == 10)
        let remembered = try await memory.search("quokka lunch", in: namespace, limit: 10)
        #expect(remembered.map(\.record.key) == hits.map(\.record.key))
        #expect(store.poolsFromWordLists.load(ordering: .relaxed) == (wordLists ? 1 : 0))
        try await store.close()
    }

    /// A run of equal ranks that crosses the whole index's first cut (50 rows) is ranked again
    /// deeper, only the rows that reach the run's rank computed, instead of with the join to the
    /// records: the first ten of the run in key order, as the in-memory store gives them, for
    /// two rare words and for a rare word beside a common one (the anchored ranking). A run
    /// longer than the deeper cut (1,000 rows) still goes to the join, with the same answer. With
    /// the common word, the pool is ranked from the words' row lists, or (`wordLists` false)
    /// anchored on the rare word: the run is ranked deeper either way.
    @Test(arguments: [(300, false, true, true), (1_200, false, false, true), (300, true, true, true), (300, true, true, false)])
    func aRunOfEqualRanksPastTheCutIsRankedDeeper(tied: Int, commonWord: Bool, deeper: Bool, wordLists: Bool) async throws {
        let path = try SearchIndexingTests.temporaryPath()
        let store = try SQLiteMemoryStore(path: path)
        if !wordLists { store.wordListRowLimit.store(0, ordering: .relaxed) }
        let namespace = try Namespace("run")
        let letters = Array("abcdefghijklmnopqrstuvwxyz")
        // Keys without digits, so that no neighbour adds to any score.
        func name(_ index: Int) -> String { String([letters[index / 676], letters[index / 26 % 26], letters[index % 26]]) }
        // In reverse key order: the index's first rows of the run are its last keys.
        var operations: [MemoryOperation] = (0..<tied).reversed().map { index in
            .put(key: MemoryKey(checked: "k/\(name(index))"), value: .string("quokka lunch"))
        }
        if commonWord {
            operations += (0..<4_200).map { index in
                .put(key: MemoryKey(checked: "f/\(name(index))"), value: .string("lunch plans for the whole team"))
            }
        }
        let memory = InMemoryMemoryStore()
        for start in stride(from: 0, to: operations.count, by: 1_000) {
            let batch = Array(operations[start..<min(start + 1_000, operations.count)])
            try await store.batch(batch, in: namespace)
            try await memory.batch(batch, in: namespace)
        }
        let hits = try await store.search("quokka lunch", in: namespace, limit: 10)
        #expect(hits.map(\.record.key) == (0..<10).map { "k/\(name($0))" })
        #expect(Set(hits.map(\.score)).count == 1)
        let remembered = try await memory.search("quokka lunch", in: namespace, limit: 10)
        #expect(remembered.map(\.record.key) == hits.map(\.record.key))
        #expect(store.rankingsPastTies.load(ordering: .relaxed) == (deeper ? 1 : 0))
        #expect(store.rankingsWithJoin.load(ordering: .relaxed) == (deeper ? 0 : 1))
        #expect(store.poolsFromWordLists.load(ordering: .relaxed) == (commonWord && wordLists ? 1 : 0))
        try await store.close()
    }
}
