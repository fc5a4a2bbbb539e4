import AgentMemoryCore
import AgentMemoryJSON
import Foundation
import GRDB
import GRDBSQLite
import Logging
import Synchronization

extension SQLiteMemoryStore {
    /// Ranked full-text search: FTS5 (Porter stemming, BM25 with key matches weighted double)
    /// finds a pool of candidates, and ``ContextRanking`` ranks them with their neighbours, as
    /// every store does; the query's stop words are left out unless it has nothing else.
    ///
    /// The pool: FTS5 ranks its own rows first, without the join to the records (the namespace
    /// lives there) and without building anything for them (no snippet, no record columns:
    /// SQLite's sorter would build those for every match); if enough of the best of them are
    /// live records of `namespace`, they are the pool (bm25 is the same number in either query,
    /// so filtering the top of the whole index keeps the top of the namespace), else the
    /// ranking is done again with the join. Then only the pool and its neighbours are read, by
    /// id and by key, always within `namespace`.
    public func search(_ query: String, in namespace: Namespace, limit: Int) async throws -> [SearchHit] {
        try ListCursor.validate(limit: limit)
        let words = SearchText.queryWords(of: query)
        guard !words.isEmpty else { return [] }
        let stems = words.map(\.stem)
        // Each word is quoted so that FTS5 syntax in the query is taken literally; any word may
        // match. Query terms hold only letters and digits (`SearchText.terms`), never a quote.
        let quoted = words.map { "\"\($0.word)\"" }
        let now = clock().timeIntervalSince1970
        let poolLimit = ContextRanking.poolLimit(for: limit)
        let body: @Sendable (Database, Bool) throws -> [SearchHit] = { db, bounded in
            guard let (statistics, ranked) = try self.statisticsAndPool(
                quoted, in: namespace, now: now, limit: poolLimit, rowBudget: bounded ? Self.boundedSearchRows : nil, db: db)
            else { return [] }
            self.searchIndexIsLarge.store(statistics.documents >= Self.largeSearchIndex, ordering: .relaxed)
            if !bounded, self.readPath == .automatic { self.noteCommonWords(stems, statistics) }
            guard !ranked.isEmpty else { return [] }
            // The pool and its neighbours in one read by key (the pool's keys came with its ranking).
            let pool = ranked.map { Array($0.key.utf8) }
            let keys = ranked.map(\.key) + ContextRanking.keysToRead(around: pool).map { String(decoding: $0, as: UTF8.self) }
            let matcher = QueryMatcher(stems: stems)
            let rows = try Self.liveRows(keys, in: namespace, now: now, matcher: matcher, db: db)
            return try ContextRanking.rank(
                pool: pool, keys: rows.keys, documents: rows.documents, statistics: statistics, limit: limit
            ).map { hit in
                // Only the hits' values are parsed.
                let record = try rows.stored[hit.position].record()
                let snippet = matcher.hitSnippet(key: record.key, body: SearchText.body(of: record.value))
                return SearchHit(record: record, score: hit.score, snippet: snippet)
            }
        }
        // Every write committed before the search began must be in the index it ranks with:
        // a snapshot holding rows the index has not caught up on is not searched. A pass brings
        // the index up to date (on the index file's connection) and the search reads a new
        // snapshot, whatever it holds: writes committed since came after the search began, so
        // either answer is right for them, and a search never waits for a pass twice.
        if let hits = try await searchSnapshot(body, words: stems, ifCaughtUp: true) { return hits }
        do {
            try await catchUpIndex()
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            // Writes are failing too (a full disk, a read-only file): the index as it is still
            // answers for everything but the rows pending, better than no answer at all.
            logger.warning(
                "the full-text index could not catch up; searching without the newest writes",
                metadata: ["path": "\(path)", "error": "\(Self.describe(error))"])
        }
        return try await searchSnapshot(body, words: stems, ifCaughtUp: false) ?? []
    }

    /// Runs `body` in one read snapshot, where ``ReadPath`` says; with `ifCaughtUp`, returns
    /// `nil` instead when the snapshot holds rows pending for the index. `body`'s flag asks it
    /// to give up (``UnboundedSearch``) rather than rank more than ``boundedSearchRows`` rows.
    private func searchSnapshot(
        _ body: @escaping @Sendable (Database, Bool) throws -> [SearchHit], words: [String], ifCaughtUp: Bool
    ) async throws -> [SearchHit]? {
        let checked: @Sendable (Database, Bool) throws -> SnapshotSearch = { db, bounded in
            // Not current: behind the snapshot, or ahead of it (a pass committed between the two
            // files' first reads, or records restored from a copy older than their index: the
            // pass tells them apart, and rebuilds the index for the second).
            if ifCaughtUp, try SQLiteSearchIndexFile.standingOnReader(db) != .current { return .pending }
            do {
                return .hits(try body(db, bounded))
            } catch is UnboundedSearch {
                return .unbounded
            }
        }
        // See ``ReadPath/automatic``: over a large index (the size seen by the previous search
        // decides), a search ranks on the calling thread only while its words are rare enough;
        // otherwise it starts again, in a snapshot of its own, on the queue. A word that an
        // earlier search found common sends it to the queue at once.
        var outcome: SnapshotSearch
        if readPath == .automatic, searchIndexIsLarge.load(ordering: .relaxed) {
            if commonSearchWords.withLock({ common in words.contains(where: common.contains) }) {
                searchesSentToQueue.add(1, ordering: .relaxed)
                outcome = try await scan { db in try checked(db, false) }
            } else {
                outcome = try await read { db in try checked(db, true) }
                if case .unbounded = outcome {
                    unboundedSearches.add(1, ordering: .relaxed)
                    outcome = try await scan { db in try checked(db, false) }
                }
            }
        } else {
            outcome = try await read { db in try checked(db, false) }
        }
        if case .hits(let hits) = outcome { return hits }
        return nil
    }

    /// Keeps ``commonSearchWords`` in step with the counts of a search's words (their `stems`,
    /// in the statistics' order): the common ones added (the set emptied first should it reach
    /// 4,096 words), the others dropped.
    private func noteCommonWords(_ stems: [String], _ statistics: SearchStatistics) {
        commonSearchWords.withLock { common in
            for (word, rows) in zip(stems, statistics.documentFrequencies) {
                if rows >= Self.commonWordRows {
                    if common.count >= 4_096 { common.removeAll() }
                    common.insert(word)
                } else {
                    common.remove(word)
                }
            }
        }
    }

    /// What a search in one snapshot came to.
    private enum SnapshotSearch: Sendable {
        /// The snapshot holds rows pending for the index: nothing was searched.
        case pending
        /// A bounded search gave up (``UnboundedSearch``).
        case unbounded
        /// The answer.
        case hits([SearchHit])
    }

    /// The most rows the words of a search may hold together for it to run on the calling
    /// thread over a large index (``ReadPath/automatic``): about 3 ms of ranking at a million
    /// records. Two rare words (fewer than 4,096 rows each) always fit.
    public static let boundedSearchRows = 8_192

    /// A search over a large index found a common word, or more rows than
    /// ``boundedSearchRows``: it goes to the queue instead of the calling thread.
    struct UnboundedSearch: Error {}

    /// BM25's statistics and the pool (see ``pool(_:_:in:now:limit:db:)``); `nil` when no row
    /// holds any of the words. In one statement when every word is in fewer than
    /// ``commonWordRows`` rows: ``SQLiteWordListRanking`` counts each word's rows (a
    /// ``SQLiteSearchFunctions/CountRequest``) and ranks from the words' own row lists, so that
    /// the index is opened once, not twice (the statistics' own statement was a quarter of a
    /// search at 1,000 records). The match then holds every word, in the same order as the
    /// pool's; a word in no row adds nothing (0.0) to any rank, so the ranks are the same to
    /// the bit. Otherwise the statistics come first and the pool after.
    private func statisticsAndPool(
        _ quoted: [String], in namespace: Namespace, now: Double, limit: Int, rowBudget: Int?, db: Database
    ) throws -> (SearchStatistics, [(rank: Double, key: String)])? {
        let order = quoted.indices.sorted { quoted[$0] < quoted[$1] }
        let match = order.map { quoted[$0] }.joined(separator: " OR ")
        let counts = UnsafeMutablePointer<Int64>.allocate(capacity: quoted.count)
        defer { counts.deallocate() }
        let reached = UnsafeMutablePointer<Int64>.allocate(capacity: quoted.count)
        defer { reached.deallocate() }
        let request = UnsafeMutablePointer<SQLiteSearchFunctions.CountRequest>.allocate(capacity: 1)
        request.initialize(to: .init(
            limit: Int64(Self.commonWordRows), rowBudget: rowBudget.map(Int64.init) ?? .max, capacity: quoted.count,
            counts: counts, reached: reached))
        defer { request.deallocate() }
        let top = try Self.rankWordLists(match, .request(request), in: namespace, now: now, limit: limit, db: db)
        let answer = request.pointee
        // Over the budget (a common word, or too many rows): the caller runs the search again
        // without one, elsewhere.
        if rowBudget != nil, answer.declined { throw UnboundedSearch() }
        guard !answer.declined, !answer.counted || answer.phrases == quoted.count else {
            // A common word: the request counted every word as the statistics function would.
            var counted: SQLiteSearchFunctions.Counts?
            if answer.countsComplete, answer.phrases == quoted.count {
                var words = [(count: Int, reached: Int64?)](repeating: (0, nil), count: quoted.count)
                for (position, index) in order.enumerated() {
                    let count = Int(counts[position])
                    words[index] = (count, count > 0 ? reached[position] : nil)
                }
                counted = SQLiteSearchFunctions.Counts(rows: answer.rows, tokens: answer.tokens, words: words)
            }
            guard let statistics = try Self.statistics(quoted, counted: counted, db: db) else { return nil }
            return (statistics, try pool(quoted, statistics, in: namespace, now: now, limit: limit, db: db))
        }
        // Not counted: the rank function never ran, so no row matched.
        guard answer.counted else { return nil }
        var frequencies = [Int](repeating: 0, count: quoted.count)
        for (position, index) in order.enumerated() { frequencies[index] = Int(counts[position]) }
        let statistics = SearchStatistics(
            documents: Int(answer.rows), averageLength: Double(answer.tokens) / Double(max(1, answer.rows)),
            documentFrequencies: frequencies)
        let ranked = try rankBeyond(top, match, Self.hits(order, statistics), in: namespace, now: now, limit: limit, db: db)
        return (statistics, ranked)
    }

    /// Matches of a word counted exactly up to this many; a word in more rows is common, its
    /// count estimated (see ``statistics(_:counted:db:)``) and left out of the pool's FTS5 ranking
    /// while the query has a rarer word (counting and ranking a common word's rows was most of
    /// a search's time at a million records).
    static let commonWordRows = 4_096

    /// The pool: the best `limit` live rows of `namespace` by FTS5's BM25 (``SQLiteSearchFunctions``'
    /// rank function, with the statistics' row counts).
    ///
    /// While the words hold few enough rows together (``wordListRows``, or
    /// ``wordListRowsWithoutRareWord`` when every word is common), the pool is ranked from the
    /// words' row lists in one call (``SQLiteWordListRanking``, with the same counts: the same
    /// rows and ranks as the rankings below). At a million records that took 30% less time for
    /// a common word beside a rare one, and nearly half less for two common words.
    ///
    /// Past that, with a common word (see ``commonWordRows``) and a rarer one, only the rows holding a
    /// rarer word are ranked first, on every word of the query: `(rare…) AND (every word…)`,
    /// the rare words of the first group repeated only to choose the rows (their phrases
    /// ``SQLiteSearchFunctions/unscored``, so each rank is the full query's to the bit, the
    /// zeros added before the query's own terms in their usual order). FTS5 walks the common
    /// words' rows only where a rare word is (it skips through their lists). When those rows
    /// fill the pool with ranks better than every common word together could give a row
    /// without a rare word (BM25's bound, idf × (k1 + 1) a word), they are the pool; otherwise
    /// every row holding any word is ranked. Ranking the rare words alone (before) left the
    /// common words' part out of the ranks, so the bound held less often and the pool was
    /// ordered on part of the query.
    private func pool(
        _ quoted: [String], _ statistics: SearchStatistics, in namespace: Namespace, now: Double, limit: Int, db: Database
    ) throws -> [(rank: Double, key: String)] {
        // A word in no row adds nothing to any rank: left out of the match.
        let present = quoted.indices.filter { statistics.documentFrequencies[$0] > 0 }
        guard !present.isEmpty else { return [] }
        let rare = present.filter { statistics.documentFrequencies[$0] < Self.commonWordRows }
        // Every word, in the match's usual order, with its row counts: the ranking of every row
        // holding one, and the scored part of the anchored match.
        let order = present.sorted { quoted[$0] < quoted[$1] }
        let match = order.map { quoted[$0] }.joined(separator: " OR ")
        let counts = Self.hits(order, statistics)
        let total = present.reduce(0) { $0 + statistics.documentFrequencies[$1] }
        let budget = rare.isEmpty
            ? wordListRowLimitWithoutRareWord.load(ordering: .relaxed) : wordListRowLimit.load(ordering: .relaxed)
        if total <= budget {
            poolsFromWordLists.add(1, ordering: .relaxed)
            let first = try Self.rankWordLists(match, .hits(counts), in: namespace, now: now, limit: limit, db: db)
            return try rankBeyond(first, match, counts, in: namespace, now: now, limit: limit, db: db)
        }
        var floor: Double?
        if !rare.isEmpty, rare.count < present.count {
            let anchors = rare.sorted { quoted[$0] < quoted[$1] }
            let anchored = "(" + anchors.map { quoted[$0] }.joined(separator: " OR ") + ") AND (" + match + ")"
            let anchoredCounts = SQLiteSearchFunctions.hitsArgument(anchors.map { _ in SQLiteSearchFunctions.unscored }) + counts
            let first = try Self.rankInWholeIndex(anchored, anchoredCounts, lengths: .joined, in: namespace, now: now, limit: limit, db: db)
            let ranked = try rankBeyond(first, anchored, anchoredCounts, in: namespace, now: now, limit: limit, db: db)
            let total = Double(statistics.documents)
            let bound = present.filter { !rare.contains($0) }.reduce(0.0) { sum, index in
                let frequency = Double(statistics.documentFrequencies[index])
                // FTS5's idf (the rank function's), never below its floor.
                return sum + max(1e-6, log((total - frequency + 0.5) / (frequency + 0.5))) * (ContextRanking.k1 + 1)
            }
            if ranked.count == limit, let last = ranked.last, -last.rank > bound { return ranked }
            // The rows ranked are among those of every word, with the same ranks: the best of
            // every word's rows score at least as well as the last of the rare words' best.
            floor = first.cut.map { -$0 }
        }
        let whole = try Self.rankInWholeIndex(match, counts, lengths: .whenNeeded(floor: floor), in: namespace, now: now, limit: limit, db: db)
        return try rankBeyond(whole, match, counts, in: namespace, now: now, limit: limit, db: db)
    }

    /// The most rows the query's words may hold together for the pool to be ranked from their
    /// row lists (``SQLiteWordListRanking``) when a word is rare: past it, the rare words' rows
    /// ranked first (the anchored pool) usually settle the pool for less.
    static let wordListRows = 32_768
    /// The same when every word is common (there is no anchored pool): at 262,144 rows the
    /// lists' rows take about 8 MB while ranked.
    static let wordListRowsWithoutRareWord = 262_144

    /// The rank function's row counts of the words at `order`, in that order (the match's).
    private static func hits(_ order: [Int], _ statistics: SearchStatistics) -> Data {
        SQLiteSearchFunctions.hitsArgument(order.map { statistics.documentFrequencies[$0] })
    }

    /// The live records the ranking reads, in three arrays of one order: their keys, their
    /// ``SearchDocument``s, and their columns, the value kept as the stored JSON text and
    /// parsed only if the record is a hit.
    private struct RankedRows {
        var keys: [ByteKey] = []
        var documents: [SearchDocument] = []
        var stored: [SQLiteStoredRow] = []
    }

    /// The live records of `namespace` among `keys`, by key, with their documents for
    /// `matcher` (one cached statement: the keys go as a JSON array). The documents are made
    /// from the row's bytes as SQLite holds them: no `String` and no JSON parse for a string
    /// value without escapes (the common case; anything else is parsed, as before).
    private static func liveRows(
        _ keys: [String], in namespace: Namespace, now: Double, matcher: QueryMatcher, db: Database
    ) throws -> RankedRows {
        var rows = RankedRows()
        guard !keys.isEmpty else { return rows }
        let statement = try db.cachedStatement(sql: """
            SELECT \(SQLiteStoredRow.columns) FROM memory_records
            WHERE namespace = ? AND key IN (SELECT value FROM json_each(?)) AND (expires_at IS NULL OR expires_at > ?)
            """)
        let array = JSONValue.array(keys.map { .string($0) }).jsonString()
        let cursor = try Row.fetchCursor(statement, arguments: [namespace.name, array, now])
        let handle = statement.sqliteStatement
        rows.keys.reserveCapacity(keys.count)
        rows.documents.reserveCapacity(keys.count)
        rows.stored.reserveCapacity(keys.count)
        while try cursor.next() != nil {
            let key = SQLiteStoredRow.bytes(handle, 0)
            let document = try matcher.document(key: key, json: SQLiteStoredRow.bytes(handle, 1))
            let stored = SQLiteStoredRow(handle)
            // Each key once: the statement reads each (namespace, key) row once.
            rows.keys.append(ByteKey(bytes: Array(key)))
            rows.documents.append(document)
            rows.stored.append(stored)
        }
        return rows
    }
}
