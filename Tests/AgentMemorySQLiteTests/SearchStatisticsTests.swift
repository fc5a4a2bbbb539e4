import AgentMemoryCore
import AgentMemoryJSON
import Foundation
import GRDB
import GRDBSQLite
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
        // The reads below query FTS5 directly: the index must hold every write first.
        try await store.catchUpSearchIndex()
        let words = ["common", "rare", "unique", "absent"]
        let limit = SQLiteMemoryStore.commonWordRows
        let (found, expected) = try await store.read { db in
            let found = try SQLiteSearchFunctions.statistics(match: words.map { "\"\($0)\"" }.joined(separator: " OR "), limit: limit, db: db)
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
        // The rare-word ranking's count request, which meets the common word first, counts every
        // word the same way, so that the search need not count again.
        let requested = try await store.read { db -> [String] in
            let match = words.map { "\"\($0)\"" }.joined(separator: " OR ")
            let counts = UnsafeMutablePointer<Int64>.allocate(capacity: words.count)
            let reached = UnsafeMutablePointer<Int64>.allocate(capacity: words.count)
            let request = UnsafeMutablePointer<SQLiteSearchFunctions.CountRequest>.allocate(capacity: 1)
            defer {
                counts.deallocate()
                reached.deallocate()
                request.deallocate()
            }
            request.initialize(to: .init(limit: Int64(limit), capacity: words.count, counts: counts, reached: reached))
            let statement = try db.makeStatement(sql: """
                SELECT \(SQLiteWordListRanking.functionName)(memory_fts, ?1, 50) FROM memory_fts WHERE memory_fts MATCH ?2 LIMIT 1
                """)
            let handle = statement.sqliteStatement
            sqlite3_bind_pointer(handle, 1, request, SQLiteSearchFunctions.countRequestType, nil)
            sqlite3_bind_text(handle, 2, match, -1, SQLiteStoredRow.transient)
            let code = sqlite3_step(handle)
            sqlite3_reset(handle)
            let answer = request.pointee
            return ["\(code == SQLITE_ERROR) \(answer.declined) \(answer.countsComplete) \(answer.counted) \(answer.phrases) \(answer.rows) \(answer.tokens)"]
                + (0..<answer.phrases).map { "\(counts[$0]) \(counts[$0] > 0 ? reached[$0] : 0)" }
        }
        #expect(requested == ["true true true false 4 5000 \(tokens)"] + expected.map { "\($0.0) \($0.1 ?? 0)" })
        let none = try await store.read { db in
            try SQLiteSearchFunctions.statistics(match: "\"absent\" OR \"missing\"", limit: limit, db: db)
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

    /// A store of 300 texts of fruit words (3 to 11 words; with `longTexts`, every 50th more
    /// than 127), every fifth under a key starting `fig/`.
    static func fruitStore(longTexts: Bool) async throws -> SQLiteMemoryStore {
        let store = try SQLiteMemoryStore(path: try SearchIndexingTests.temporaryPath())
        let words = ["apple", "pear", "plum", "fig", "kiwi", "lime"]
        try await store.batch((0..<300).map { index in
            let count = longTexts && index % 50 == 7 ? 130 + index : 3 + index % 9
            let text = (0..<count).map { words[($0 * 7 + index) % words.count] }.joined(separator: " ")
            return .put(key: MemoryKey(checked: index % 5 == 0 ? "fig/\(index)" : "n/\(index)"), value: .string(text))
        }, in: try Namespace("fruit"))
        return store
    }

    /// With exact row counts the pool's rank function gives FTS5's `bm25(memory_fts, 2.0, 1.0)`
    /// to the bit, row by row (key words weigh double), whether it asks FTS5 for each row's
    /// length or reads it from the `memory_fts_docsize` row the statement joins (as the search
    /// does), and when the join finds no row. Every 50th text is long (more than 127 tokens),
    /// so that its length takes two bytes in the size blob.
    @Test func theRankFunctionIsFTS5sBM25() async throws {
        let store = try await Self.fruitStore(longTexts: true)
        // The read below queries FTS5 directly: the index must hold every write first.
        try await store.catchUpSearchIndex()
        let match = ["\"apple\"", "\"fig\"", "\"kiwi\""].joined(separator: " OR ")
        let (ours, joined, unjoined, theirs, everyRankDiffers) = try await store.read { db in
            let counts = try #require(try SQLiteSearchFunctions.statistics(match: match, limit: 4_096, db: db))
            let hits = SQLiteSearchFunctions.hitsArgument(counts.words.map(\.count))
            let ours = try Row.fetchAll(db, sql: """
                SELECT rowid, \(SQLiteSearchFunctions.rankFunctionName)(memory_fts, ?) FROM memory_fts WHERE memory_fts MATCH ? ORDER BY rowid
                """, arguments: [hits, match]).map { [$0[0] as Double, $0[1] as Double] }
            let joined = try Row.fetchAll(db, sql: """
                SELECT memory_fts.rowid, \(SQLiteSearchFunctions.rankFunctionName)(memory_fts, ?, sizes.sz)
                FROM memory_fts LEFT JOIN memory_fts_docsize sizes ON sizes.id = memory_fts.rowid
                WHERE memory_fts MATCH ? ORDER BY memory_fts.rowid
                """, arguments: [hits, match]).map { [$0[0] as Double, $0[1] as Double] }
            let unjoined = try Row.fetchAll(db, sql: """
                SELECT rowid, \(SQLiteSearchFunctions.rankFunctionName)(memory_fts, ?, NULL) FROM memory_fts WHERE memory_fts MATCH ? ORDER BY rowid
                """, arguments: [hits, match]).map { [$0[0] as Double, $0[1] as Double] }
            // Every row said to hold 127 tokens, which none does: the length comes from the argument.
            let faked = try Row.fetchAll(db, sql: """
                SELECT rowid, \(SQLiteSearchFunctions.rankFunctionName)(memory_fts, ?, X'7F') FROM memory_fts WHERE memory_fts MATCH ? ORDER BY rowid
                """, arguments: [hits, match]).map { [$0[0] as Double, $0[1] as Double] }
            let theirs = try Row.fetchAll(db, sql: """
                SELECT rowid, bm25(memory_fts, 2.0, 1.0) FROM memory_fts WHERE memory_fts MATCH ? ORDER BY rowid
                """, arguments: [match]).map { [$0[0] as Double, $0[1] as Double] }
            let everyRankDiffers = zip(faked, theirs).allSatisfy { fake, real in fake[0] == real[0] && fake[1] != real[1] }
            return (ours, joined, unjoined, theirs, everyRankDiffers)
        }
        #expect(ours.count > 100)
        #expect(ours == theirs)
        #expect(joined == theirs)
        #expect(unjoined == theirs)
        #expect(everyRankDiffers)
        try await store.close()
    }

    /// The anchored match of a search with a common word, `(rare) AND (every word)` with the
    /// anchor's phrase ``SQLiteSearchFunctions/unscored``, holds exactly the rows that hold the
    /// rare word, each ranked as the plain `OR` of every word ranks it (FTS5's `bm25`), to the bit.
    @Test func anAnchoredMatchRanksTheRareWordsRowsOnTheWholeQuery() async throws {
        let store = try await Self.fruitStore(longTexts: false)
        try await store.catchUpSearchIndex()
        let plain = ["\"apple\"", "\"fig\"", "\"kiwi\""].joined(separator: " OR ")
        let anchored = "(\"fig\") AND (\(plain))"
        let (ours, theirs, figRows) = try await store.read { db in
            let counts = try #require(try SQLiteSearchFunctions.statistics(match: plain, limit: 4_096, db: db))
            let hits = SQLiteSearchFunctions.hitsArgument([SQLiteSearchFunctions.unscored] + counts.words.map(\.count))
            let ours = try Row.fetchAll(db, sql: """
                SELECT memory_fts.rowid, \(SQLiteSearchFunctions.rankFunctionName)(memory_fts, ?, sizes.sz)
                FROM memory_fts LEFT JOIN memory_fts_docsize sizes ON sizes.id = memory_fts.rowid
                WHERE memory_fts MATCH ? ORDER BY memory_fts.rowid
                """, arguments: [hits, anchored]).map { [$0[0] as Double, $0[1] as Double] }
            let figRows = Set(try Int64.fetchAll(db, sql: "SELECT rowid FROM memory_fts WHERE memory_fts MATCH '\"fig\"'"))
            let theirs = try Row.fetchAll(db, sql: """
                SELECT rowid, bm25(memory_fts, 2.0, 1.0) FROM memory_fts WHERE memory_fts MATCH ? ORDER BY rowid
                """, arguments: [plain]).map { [$0[0] as Double, $0[1] as Double] }
            return (ours, theirs, figRows)
        }
        #expect(figRows.count > 50)
        #expect(theirs.count > figRows.count)
        #expect(Set(ours.map { Int64($0[0]) }) == figRows)
        #expect(ours == theirs.filter { figRows.contains(Int64($0[0])) })
        try await store.close()
    }

    /// With a common word (4,096 rows or more) beside a rare one, the pool is the best rows by
    /// the whole query: a row holding both words but a little longer than the rare word's other
    /// rows ranks first (each word's part shrinks with length, the common word's part more than
    /// makes up for it). Ranking the rare word alone filled the pool of ten with the rare
    /// word's shorter rows, and the row holding both was never found. Keys hold no digits, so
    /// no neighbour joins the pool.
    @Test func aRowWithTheRareAndTheCommonWordOutranksShorterRowsWithTheRareWordAlone() async throws {
        let path = try SearchIndexingTests.temporaryPath()
        let store = try SQLiteMemoryStore(path: path)
        let namespace = try Namespace("pool")
        let letters = Array("abcdefghijklmnopqrstuvwxyz")
        func key(_ index: Int) -> MemoryKey {
            MemoryKey(checked: "k/" + String([letters[index / 17_576 % 26], letters[index / 676 % 26], letters[index / 26 % 26], letters[index % 26]]))
        }
        let filler = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india"]
        let both = 10_001
        let operations: [MemoryOperation] = (0..<20_000).map { index in
            var words = filler
            if index == both {
                words = ["quokka", "lunch"] + filler.dropFirst()
            } else if index % 997 == 3 && index < 20 * 997 {
                words[0] = "quokka"
            } else if index % 4 == 0 {
                words[0] = "lunch"
            }
            return .put(key: key(index), value: .string(words.joined(separator: " ")))
        }
        let memory = InMemoryMemoryStore()
        for start in stride(from: 0, to: operations.count, by: 2_000) {
            try await store.batch(Array(operations[start..<(start + 2_000)]), in: namespace)
            try await memory.batch(Array(operations[start..<(start + 2_000)]), in: namespace)
        }
        let hits = try await store.search("quokka lunch", in: namespace, limit: 10)
        #expect(hits.first?.record.key == key(both).rawValue)
        #expect(hits.count == 10)
        // The in-memory index (max-score over the rare word's rows) answers the same.
        let remembered = try await memory.search("quokka lunch", in: namespace, limit: 10)
        #expect(remembered.map(\.record.key) == hits.map(\.record.key))
        try await store.close()
    }

    /// Rows that rank alike are ordered by key, however many of them there are and wherever
    /// the whole index puts them: the namespace's rows numbered in reverse key order, with or
    /// without another namespace's numbered before them, so that the whole index's first rows
    /// are the wrong ones (the keys hold no numbers, so no neighbour adds to any score).
    @Test(arguments: [(20, false), (20, true), (120, true)])
    func equalRanksAreOrderedByKeyWhereverTheIndexPutsThem(rows: Int, crowded: Bool) async throws {
        let path = try SearchIndexingTests.temporaryPath()
        let store = try SQLiteMemoryStore(path: path)
        let namespace = try Namespace("ties")
        let letters = Array("abcdefghijklmnopqrstuvwxyz")
        let keys: [String] = (0..<rows).map { index in "k/\(letters[index / 26])\(letters[index % 26])" }
        let crowd: [MemoryOperation] = (0..<100).map { index in
            .put(key: MemoryKey(checked: "other/\(index)"), value: .string("lunch plans"))
        }
        if crowded { try await store.batch(crowd, in: Namespace("crowd")) }
        let mine: [MemoryOperation] = keys.reversed().map { key in .put(key: MemoryKey(checked: key), value: .string("lunch plans")) }
        try await store.batch(mine, in: namespace)
        let hits = try await store.search("lunch", in: namespace, limit: 10)
        #expect(hits.map(\.record.key) == Array(keys.prefix(10)))
        #expect(Set(hits.map(\.score)).count == 1)
        try await store.close()
    }

    /// A size blob is read as FTS5 writes it: one varint per column, seven bits a byte, most
    /// significant first; a blob that ends inside a varint is no size blob.
    @Test func sizeBlobsAreSummedVarints() throws {
        func length(_ bytes: [UInt8]) -> Int32? {
            bytes.withUnsafeBytes { SQLiteSearchFunctions.documentLength(sizes: $0) }
        }
        #expect(length([0x02, 0x05]) == 7)
        #expect(length([0x81, 0x02, 0x05]) == 135)
        #expect(length([0x02, 0x82, 0x80, 0x01]) == 32_771)
        #expect(length([]) == 0)
        #expect(length([0x02, 0x81]) == nil)
        #expect(length([0x87, 0xFF, 0xFF, 0xFF, 0x7F]) == Int32.max)
        #expect(length([0x88, 0x80, 0x80, 0x80, 0x00]) == nil)
        // The nine-byte form (all eight bits of the last byte) is read, and is far too large.
        #expect(length([0x81, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80]) == nil)
        var offset = 0
        let nine: [UInt8] = [0x81, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0xFF]
        // Unwrapped first: `#expect` of an optional against a literal reads one byte past the
        // literal's stack slot (AddressSanitizer, Swift 6.3's Testing), a toolchain defect.
        let read = try #require(nine.withUnsafeBytes { SQLiteVarint.read($0, at: &offset) })
        #expect(read == (1 << 57) | 0xFF)
        #expect(offset == 9)
    }

    /// Words that FTS5's tokenizer may turn into nothing (a lone combining mark, superscript
    /// and Roman-numeral digits) neither break a search nor change its hits.
    @Test(arguments: ["\u{0345}", "\u{00B2}", "\u{0308}a", "\u{216B}", "x\u{0345}y"])
    func oddWordsChangeNothing(word: String) async throws {
        let path = try SearchIndexingTests.temporaryPath()
        let store = try SQLiteMemoryStore(path: path)
        let namespace = try Namespace("odd")
        try await store.batch([
            .put(key: MemoryKey(checked: "k/1"), value: .string("hello world")),
            .put(key: MemoryKey(checked: "k/2"), value: .string("hello there, world")),
        ], in: namespace)
        let plain = try await store.search("hello", in: namespace, limit: 10)
        let odd = try await store.search("hello \(word)", in: namespace, limit: 10)
        #expect(odd.map(\.record.key) == plain.map(\.record.key))
        #expect(try await store.search(word, in: namespace, limit: 10).isEmpty)
        try await store.close()
    }
}
