import AgentMemoryCore
import Foundation
import GRDB
import GRDBSQLite
import Synchronization

/// The pool's rankings of the whole full-text index (FTS5 and each row's length, no records),
/// and the ranking with the join to the records when those cannot be sure of the namespace's best.
extension SQLiteMemoryStore {
    /// The namespace's best `limit` rows after a ranking of the whole index (`first`, of `match`
    /// with `counts`): its answer when it had one; when it stopped inside a run of equal ranks
    /// (the namespace's `limit` found, but rows of the last one's rank may lie past the cut), a
    /// deeper ranking of the whole index that computes only the rows reaching that rank (the
    /// cut as its FLOOR, ``tieDepth(for:)`` rows); else, or should the run go deeper still, the
    /// ranking with the join to the records. A run of equal ranks past the cut came in one
    /// search in eighteen at a million records, and the join ranks every matching row.
    func rankBeyond(
        _ first: WholeIndexRanking, _ match: String, _ counts: Data, in namespace: Namespace, now: Double, limit: Int, db: Database
    ) throws -> [(rank: Double, key: String)] {
        if let ranked = first.ranked { return ranked }
        if first.tiedAtCut, let cut = first.cut {
            let deeper = try Self.rankInWholeIndex(
                match, counts, lengths: .whenNeeded(floor: -cut), in: namespace, now: now, limit: limit,
                depth: Self.tieDepth(for: limit), db: db)
            if let ranked = deeper.ranked {
                rankingsPastTies.add(1, ordering: .relaxed)
                return ranked
            }
        }
        rankingsWithJoin.add(1, ordering: .relaxed)
        return try Self.rankWithJoin(match, counts, in: namespace, now: now, limit: limit, db: db)
    }

    /// How many of the whole index's best rows the ranking after a run of equal ranks at the cut
    /// returns (see ``rankBeyond(_:_:_:in:now:limit:db:)``): twenty times the first cut.
    static func tieDepth(for limit: Int) -> Int { wholeIndexDepth(for: limit) * 20 }

    /// How a ranking reads each row's length (BM25 needs it).
    enum RowLengths {
        /// From a left join of `memory_fts_docsize` (FTS5 stays the outer loop): every row's,
        /// the fastest way to read them all: for the rows of a rare word ranked beside common
        /// ones (the anchored pool), where few rows can be skipped.
        case joined
        /// Read by the rank function only for a row that may be among the best (its DEPTH
        /// argument, ``SQLiteRankState``), which skips most rows of a common word; `floor`, when
        /// known, a score that the best ``wholeIndexDepth(for:)`` rows of the whole index all
        /// reach, so that rows are skipped from the first.
        case whenNeeded(floor: Double?)
    }

    /// A ranking of the whole index: the best `limit` rows of the namespace, or `nil` when the
    /// top of the whole index holds too few of them to be sure (or a count request was
    /// declined); and `cut`, the rank of the last of the ``wholeIndexDepth(for:)`` rows it
    /// returned when it returned that many.
    struct WholeIndexRanking {
        var ranked: [(rank: Double, key: String)]?
        var cut: Double?
        /// No answer because the namespace's `limit` rows were found but the run of the last
        /// one's rank reached the cut (rather than too few rows of the namespace).
        var tiedAtCut = false
    }

    /// The best `limit` rows of `namespace` from a ranking of the whole index (see
    /// ``WholeIndexRanking``), `counts` the rank function's row counts of `match`'s phrases.
    ///
    /// The ranking returns the best ``wholeIndexDepth(for:)`` rows of the whole index; their
    /// owners are then looked up one at a time, best first, only as far as the answer needs:
    /// until `limit` rows of the namespace are found and every row ranked as well as the last
    /// of them is read (rows of equal rank are ordered by key, so all of them must be seen).
    static func rankInWholeIndex(
        _ match: String, _ counts: Data, lengths: RowLengths, in namespace: Namespace, now: Double, limit: Int,
        depth: Int? = nil, db: Database
    ) throws -> WholeIndexRanking {
        let depth = depth ?? wholeIndexDepth(for: limit)
        // FTS5 and each row's length (see ``RowLengths``), no records. Stepped with SQLite's
        // C API (a pointer argument has no GRDB binding).
        let statement: Statement
        var floor: Double?
        switch lengths {
        case .joined:
            statement = try db.cachedStatement(sql: """
                SELECT memory_fts.rowid, \(SQLiteSearchFunctions.rankFunctionName)(memory_fts, ?1, sizes.sz) AS rank
                FROM memory_fts LEFT JOIN memory_fts_docsize sizes ON sizes.id = memory_fts.rowid
                WHERE memory_fts MATCH ?2 ORDER BY rank LIMIT ?3
                """)
        case .whenNeeded(let known):
            // Nothing but the match filters the rows ranked: DEPTH is the statement's LIMIT.
            statement = try db.cachedStatement(sql: """
                SELECT rowid, \(SQLiteSearchFunctions.rankFunctionName)(memory_fts, ?1, NULL, ?3, ?4) AS rank
                FROM memory_fts WHERE memory_fts MATCH ?2 ORDER BY rank LIMIT ?3
                """)
            floor = known
        }
        let transient = SQLiteStoredRow.transient
        let top = try SQLiteStoredRow.allRows(statement, db: db, bind: { handle in
            counts.withUnsafeBytes { bytes in _ = sqlite3_bind_blob(handle, 1, bytes.baseAddress, Int32(bytes.count), transient) }
            sqlite3_bind_text(handle, 2, match, -1, transient)
            sqlite3_bind_int64(handle, 3, Int64(depth))
            if let floor { sqlite3_bind_double(handle, 4, floor) }
        }, read: { handle in (id: sqlite3_column_int64(handle, 0), rank: sqlite3_column_double(handle, 1)) })
        return try namespaceBest(of: top, depth: depth, in: namespace, now: now, limit: limit, db: db)
    }

    /// The best `limit` rows of `namespace` among `top`, the whole index's best `depth` rows
    /// (or all of them, when fewer), best first (see ``WholeIndexRanking``).
    static func namespaceBest(
        of top: [(id: Int64, rank: Double)], depth: Int, in namespace: Namespace, now: Double, limit: Int, db: Database
    ) throws -> WholeIndexRanking {
        let transient = SQLiteStoredRow.transient
        // The owner of each row, best first: its key when it is a live record of the namespace
        // (`+namespace` keeps the planner on the rowid).
        let owner = try db.cachedStatement(sql: """
            SELECT key FROM memory_records WHERE id = ? AND +namespace = ? AND (expires_at IS NULL OR expires_at > ?)
            """)
        var kept: [(rank: Double, key: String)] = []
        var read = 0
        for row in top {
            // `limit` found, and this row ranks below the last of them: no row further down matters.
            if kept.count >= limit, row.rank != kept[limit - 1].rank { break }
            let key = try SQLiteStoredRow.firstRow(owner, db: db, bind: { handle in
                sqlite3_bind_int64(handle, 1, row.id)
                sqlite3_bind_text(handle, 2, namespace.name, -1, transient)
                sqlite3_bind_double(handle, 3, now)
            }, read: { handle in SQLiteStoredRow.text(handle, 0) ?? "" })
            if let key { kept.append((rank: row.rank, key: key)) }
            read += 1
        }
        // Every row of the ranking read while the index had more: the rows further down may be
        // needed (too few of the namespace so far, or more of the rank at the cut).
        let cut = top.count == depth ? top.last?.rank : nil
        if read == top.count, top.count == depth { return WholeIndexRanking(cut: cut, tiedAtCut: kept.count >= limit) }
        let ordered = kept.sorted { $0.rank != $1.rank ? $0.rank < $1.rank : $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
        return WholeIndexRanking(ranked: Array(ordered.prefix(limit)), cut: cut)
    }

    /// What ``rankWordLists(_:_:in:now:limit:db:)`` ranks with: a request to count the words
    /// (declined for a common word), or the row counts of the phrases, in the match's order.
    enum WordListCounts {
        case request(UnsafeMutablePointer<SQLiteSearchFunctions.CountRequest>)
        case hits(Data)
    }

    /// The namespace's best `limit` rows from the whole index's best ``wholeIndexDepth(for:)``
    /// rows of `match`, ranked from the words' row lists (``SQLiteWordListRanking``); with a
    /// count request, no answer when it declines (see ``SQLiteSearchFunctions/CountRequest``).
    static func rankWordLists(
        _ match: String, _ counts: WordListCounts, in namespace: Namespace, now: Double, limit: Int, db: Database
    ) throws -> WholeIndexRanking {
        let depth = wholeIndexDepth(for: limit)
        let statement = try db.cachedStatement(sql: """
            SELECT \(SQLiteWordListRanking.functionName)(memory_fts, ?1, ?3) FROM memory_fts WHERE memory_fts MATCH ?2 LIMIT 1
            """)
        let transient = SQLiteStoredRow.transient
        let found: [(id: Int64, rank: Double)]?
        do {
            found = try SQLiteStoredRow.firstRow(statement, db: db, bind: { handle in
                switch counts {
                case .request(let request):
                    sqlite3_bind_pointer(handle, 1, request, SQLiteSearchFunctions.countRequestType, nil)
                case .hits(let data):
                    data.withUnsafeBytes { bytes in _ = sqlite3_bind_blob(handle, 1, bytes.baseAddress, Int32(bytes.count), transient) }
                }
                sqlite3_bind_text(handle, 2, match, -1, transient)
                sqlite3_bind_int64(handle, 3, Int64(depth))
            }, read: { handle in
                // Each row: a little-endian rowid and the rank's bit pattern.
                let buffer = UnsafeRawBufferPointer(start: sqlite3_column_blob(handle, 0), count: Int(sqlite3_column_bytes(handle, 0)))
                return stride(from: 0, to: buffer.count - 15, by: 16).map { offset in
                    (id: Int64(littleEndian: buffer.loadUnaligned(fromByteOffset: offset, as: Int64.self)),
                     rank: Double(bitPattern: UInt64(littleEndian: buffer.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self))))
                }
            })
        } catch {
            if case .request(let request) = counts, request.pointee.declined { return WholeIndexRanking() }
            throw error
        }
        // No row matches: the function never ran.
        guard let top = found else { return WholeIndexRanking() }
        return try namespaceBest(of: top, depth: depth, in: namespace, now: now, limit: limit, db: db)
    }

    /// How many of the whole index's best rows a ranking returns for a search of `limit`: enough
    /// that the namespace's best `limit` and the rows of equal rank after them are nearly always
    /// among them. At a million records a cut at 30 rows fell inside a run of equal ranks in one
    /// search in six (then every matching row was ranked again with the join to the records),
    /// at 50 in one in eighteen; deeper cuts cost more in SQLite's sorter than they save. Only the
    /// rows needed are looked up in the records.
    static func wholeIndexDepth(for limit: Int) -> Int { max(50, limit * 5) }

    /// The best `limit` live rows of `namespace`, ranked with the join to the records.
    private static func rankWithJoin(
        _ match: String, _ hits: Data, in namespace: Namespace, now: Double, limit: Int, db: Database
    ) throws -> [(rank: Double, key: String)] {
        let ranking = try db.cachedStatement(sql: """
            SELECT \(SQLiteSearchFunctions.rankFunctionName)(memory_fts, ?, sizes.sz) AS rank, r.key
            FROM memory_fts JOIN memory_records r ON r.id = memory_fts.rowid
            LEFT JOIN memory_fts_docsize sizes ON sizes.id = memory_fts.rowid
            WHERE memory_fts MATCH ? AND r.namespace = ? AND (r.expires_at IS NULL OR r.expires_at > ?)
            ORDER BY rank, r.key LIMIT ?
            """)
        return try Row.fetchAll(ranking, arguments: [hits, match, namespace.name, now, limit]).map { row in
            (rank: row[0] as Double, key: row[1] as String)
        }
    }
}
