import AgentMemoryCore
import Foundation
import GRDB
import GRDBSQLite

/// SQLite search's FTS5 statements as auxiliary functions of our own, registered on every
/// connection of the store (shapes from SQLite 3.40's `sqlite3.h`: `fts5_api`, `Fts5ExtensionApi`);
/// the third, which ranks a search's pool from the words' row lists in one call, is
/// ``SQLiteWordListRanking``.
///
/// `agent_memory_statistics(memory_fts, LIMIT)`, BM25's collection statistics: called on the
/// first row of `memory_fts MATCH '"w1" OR "w2" …'`, it returns the index's row count and token
/// total (`xRowCount`, `xColumnTotalSize`) and, for each phrase of the query (each word, in the
/// query's order), the rows holding it, counted up to `LIMIT` with `xQueryPhrase` (rowid order)
/// and the last rowid reached: the numbers that counting `SELECT rowid FROM memory_fts WHERE
/// memory_fts MATCH '"w"' LIMIT n` per word gives, but walked in C by FTS5 instead of stepped
/// through by SQLite's virtual machine.
///
/// `agent_memory_bm25(memory_fts, HITS [, SIZES [, DEPTH [, FLOOR]]])`, the pool's rank: FTS5's own
/// `bm25(memory_fts, 2.0, 1.0)` (the same formula, constants and column weights, key words
/// counting double, negated so that the best sorts first) with each phrase's row count taken
/// from `HITS`, a blob of 64-bit integers, one per phrase (the statistics' counts, and
/// estimates for common words), instead of walking every phrase's rows again as `bm25()` does.
/// With exact counts the ranks are FTS5's to the bit. `SIZES`, the row's `memory_fts_docsize.sz` joined in by the
/// statement, gives the row's length in tokens (see ``documentLength(_:)``) without
/// `xColumnSize`, which runs a statement of FTS5's own per row: at a million records that was
/// three quarters of the ranking (about 0.7 µs of 0.9 a row; a join reads the same row in about
/// 0.15 µs). Given NULL instead, the function reads the same row itself, through a blob handle
/// kept open for the statement. `DEPTH`, the statement's `LIMIT` when it orders by this rank
/// and filters nothing but the match, lets the function skip that read for a row that cannot
/// be among the best `DEPTH` (``SQLiteRankState``): such a row gets a bound on its rank, every
/// row among the best its exact rank. `FLOOR`, when not NULL, a score the best `DEPTH` rows are
/// known to reach, lets it skip rows from the first.
enum SQLiteSearchFunctions {
    /// The statistics function: `agent_memory_statistics(memory_fts, LIMIT)`.
    static let statisticsFunctionName = "agent_memory_statistics"
    /// The rank function: `agent_memory_bm25(memory_fts, HITS [, SIZES [, DEPTH [, FLOOR]]])`.
    static let rankFunctionName = "agent_memory_bm25"

    /// BM25's collection statistics as counted: rows and tokens of the whole index, and per
    /// phrase the rows counted (up to the limit) and the last rowid reached.
    struct Counts {
        var rows: Int64
        var tokens: Int64
        var words: [(count: Int, reached: Int64?)]
    }

    /// Registers the functions on `db`'s connection (once per connection, as it opens).
    static func register(_ db: Database) throws {
        guard let api = try fts5API(db) else {
            throw DatabaseError(resultCode: .SQLITE_ERROR, message: "FTS5 is not available in this SQLite")
        }
        let functions = [
            (statisticsFunctionName, statisticsFunction), (rankFunctionName, rankFunction),
            (SQLiteWordListRanking.functionName, SQLiteWordListRanking.function),
        ]
        for (name, function) in functions {
            let code = api.pointee.xCreateFunction(UnsafeMutablePointer(mutating: api), name, nil, function, nil)
            guard code == SQLITE_OK else {
                throw DatabaseError(resultCode: ResultCode(rawValue: code), message: "cannot register \(name)")
            }
        }
    }

    /// The statistics of `match` (quoted words joined by OR; the counts in its phrases'
    /// order), or `nil` when no row matches.
    static func statistics(match: String, limit: Int, db: Database) throws -> Counts? {
        let statement = try db.cachedStatement(sql: """
            SELECT \(statisticsFunctionName)(memory_fts, ?) FROM memory_fts WHERE memory_fts MATCH ? LIMIT 1
            """)
        guard let blob = try Data.fetchOne(statement, arguments: [limit, match]) else { return nil }
        let values: [Int64] = blob.withUnsafeBytes { bytes in
            (0..<(bytes.count / 8)).map { Int64(littleEndian: bytes.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self)) }
        }
        guard values.count >= 2, values.count % 2 == 0 else {
            throw DatabaseError(resultCode: .SQLITE_ERROR, message: "\(statisticsFunctionName) returned \(blob.count) bytes")
        }
        let words = stride(from: 2, to: values.count, by: 2).map { index in
            (count: Int(values[index]), reached: values[index] > 0 ? Optional(values[index + 1]) : nil)
        }
        return Counts(rows: values[0], tokens: values[1], words: words)
    }

    /// What ``SQLiteWordListRanking``'s function counts for a search, bound as its second
    /// argument (with `sqlite3_bind_pointer`, type ``countRequestType``): the index's rows and
    /// tokens and each phrase's rows, counted as the statistics function counts them. Should a
    /// phrase reach `limit` rows (a common word), or the match hold more than `capacity`
    /// phrases, the function says so here and fails the statement: the caller then ranks with
    /// the counts in a `HITS` blob. For a common word every phrase is still counted, with the
    /// last rowid each reached (``countsComplete``): the numbers the statistics function would
    /// give, so that the caller need not count again.
    struct CountRequest {
        /// Rows of a phrase counted up to this many.
        var limit: Int64
        /// The most rows the phrases may hold together: past it the request declines too, with
        /// every phrase counted (``countsComplete``), before any row is ranked.
        var rowBudget: Int64 = .max
        /// Room in `counts` and `reached`.
        var capacity: Int
        /// Each phrase's rows, in the match's order (`phrases` of them).
        var counts: UnsafeMutablePointer<Int64>
        /// The last rowid each phrase's count reached, in the match's order (0 for none).
        var reached: UnsafeMutablePointer<Int64>
        /// Phrases of the match.
        var phrases = 0
        /// Rows of the whole index.
        var rows: Int64 = 0
        /// Tokens of the whole index.
        var tokens: Int64 = 0
        /// Whether the counts are in (the first row was ranked).
        var counted = false
        /// Whether a phrase reached `limit` or the phrases overflowed `capacity` (the statement failed).
        var declined = false
        /// Whether it declined with every phrase counted: a phrase reached `limit`, or the
        /// phrases' rows together passed `rowBudget`.
        var countsComplete = false
    }

    /// The pointer type of a ``CountRequest`` argument (`sqlite3_bind_pointer` compares it by value).
    nonisolated(unsafe) static let countRequestType: UnsafePointer<CChar> = UnsafePointer(strdup("agent_memory_count_request")!)

    /// A `HITS` entry for a phrase that adds nothing to the rank (idf 0): a word repeated in the
    /// match only to choose the rows, as in ``SQLiteMemoryStore``'s anchored pool.
    static let unscored = -1

    /// The `HITS` argument of the rank function: each phrase's row count (or ``unscored``), in
    /// the match's order.
    static func hitsArgument(_ hits: [Int]) -> Data {
        hits.map { Int64($0).littleEndian }.withUnsafeBytes { Data($0) }
    }

    /// The `fts5_api` of `db`'s connection (`SELECT fts5(?1)` with a pointer bound, as
    /// SQLite's FTS5 documentation describes), or `nil` without FTS5.
    private static func fts5API(_ db: Database) throws -> UnsafePointer<fts5_api>? {
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(db.sqliteConnection, "SELECT fts5(?1)", -1, &statement, nil) == SQLITE_OK else { return nil }
        defer { sqlite3_finalize(statement) }
        var api: UnsafePointer<fts5_api>?
        let type: StaticString = "fts5_api_ptr"
        type.withUTF8Buffer { name in
            name.withMemoryRebound(to: CChar.self) { name in
                _ = sqlite3_bind_pointer(statement, 1, &api, name.baseAddress, nil)
            }
        }
        _ = sqlite3_step(statement)
        return api
    }

    // MARK: - The functions

    /// Counting state of one phrase, handed to `xQueryPhrase`'s callback.
    private struct PhraseCount {
        var count: Int64 = 0
        var reached: Int64 = 0
        var limit: Int64
    }

    /// The rows of `phrase`, counted up to `limit` in rowid order (`xQueryPhrase`), and the last rowid reached.
    private static func countRows(
        _ api: UnsafePointer<Fts5ExtensionApi>, _ fts: OpaquePointer, phrase: Int32, limit: Int64
    ) -> (Int32, PhraseCount) {
        var state = PhraseCount(limit: limit)
        let code = api.pointee.xQueryPhrase(fts, phrase, &state) { api, fts, user in
            guard let api, let user else { return SQLITE_ERROR }
            let state = user.assumingMemoryBound(to: PhraseCount.self)
            state.pointee.count += 1
            state.pointee.reached = api.pointee.xRowid(fts)
            return state.pointee.count >= state.pointee.limit ? SQLITE_DONE : SQLITE_OK
        }
        return (code, state)
    }

    /// `agent_memory_statistics(memory_fts, LIMIT)`: a blob of little-endian 64-bit integers,
    /// rows and tokens, then per phrase its count and the last rowid reached.
    private static let statisticsFunction: fts5_extension_function = { api, fts, context, count, values in
        guard let api, let fts else { return }
        var rows: Int64 = 0
        var tokens: Int64 = 0
        var code = api.pointee.xRowCount(fts, &rows)
        if code == SQLITE_OK { code = api.pointee.xColumnTotalSize(fts, -1, &tokens) }
        let limit = count > 0 ? max(1, sqlite3_value_int64(values?[0])) : Int64.max
        var result: [Int64] = [rows, tokens]
        let phrases = api.pointee.xPhraseCount(fts)
        var phrase: Int32 = 0
        while code == SQLITE_OK, phrase < phrases {
            let state: PhraseCount
            (code, state) = countRows(api, fts, phrase: phrase, limit: limit)
            result += [state.count, state.reached]
            phrase += 1
        }
        guard code == SQLITE_OK else {
            sqlite3_result_error_code(context, code)
            return
        }
        result.map(\.littleEndian).withUnsafeBytes { bytes in
            sqlite3_result_blob(context, bytes.baseAddress, Int32(bytes.count), unsafeBitCast(-1, to: sqlite3_destructor_type.self))
        }
    }

    /// `agent_memory_bm25(memory_fts, HITS [, SIZES [, DEPTH [, FLOOR]]])`.
    private static let rankFunction: fts5_extension_function = { api, fts, context, count, values in
        guard let api, let fts else { return }
        if api.pointee.xGetAuxdata(fts, 0) == nil {
            let phrases = Int(api.pointee.xPhraseCount(fts))
            guard let (rows, tokens) = indexTotals(api, fts, context) else { return }
            guard count >= 1, let hits = hitsArgument(values?[0], phrases: phrases) else {
                sqlite3_result_error(context, "\(rankFunctionName): one row count per phrase expected", -1)
                return
            }
            let depth = count >= 3 ? Int(sqlite3_value_int64(values?[2])) : 0
            let floor = count >= 4 && sqlite3_value_type(values?[3]) != SQLITE_NULL ? sqlite3_value_double(values?[3]) : -Double.infinity
            guard prepareRank(api, fts, context, hits: hits, rows: rows, tokens: tokens, depth: depth, floor: floor) else { return }
        }
        guard let state = api.pointee.xGetAuxdata(fts, 0)?.assumingMemoryBound(to: SQLiteRankState.self) else { return }
        // On the stack: an array allocated per ranked row was a tenth of the ranking.
        withUnsafeTemporaryAllocation(of: Double.self, capacity: state.pointee.phrases) { frequencies in
            frequencies.initialize(repeating: 0)
            rankRow(api, fts, context, sizes: count >= 2 ? values?[1] : nil, state: state, frequencies: frequencies)
        }
    }

    /// The whole index's rows and tokens (`xRowCount`, `xColumnTotalSize`); `nil`, with the
    /// statement failed, when FTS5 cannot say.
    static func indexTotals(
        _ api: UnsafePointer<Fts5ExtensionApi>, _ fts: OpaquePointer, _ context: OpaquePointer?
    ) -> (rows: Int64, tokens: Int64)? {
        var rows: Int64 = 0
        var tokens: Int64 = 0
        var code = api.pointee.xRowCount(fts, &rows)
        if code == SQLITE_OK { code = api.pointee.xColumnTotalSize(fts, -1, &tokens) }
        guard code == SQLITE_OK else {
            sqlite3_result_error_code(context, code)
            return nil
        }
        return (rows, tokens)
    }

    /// Each phrase's row count from a `HITS` argument (see ``hitsArgument(_:)``); `nil` when
    /// the value is not a blob of one count per phrase.
    static func hitsArgument(_ value: OpaquePointer?, phrases: Int) -> [Double]? {
        guard let bytes = sqlite3_value_blob(value), Int(sqlite3_value_bytes(value)) == phrases * 8 else { return nil }
        return (0..<phrases).map { Double(Int64(littleEndian: bytes.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self))) }
    }

    /// A row's length in tokens from its `memory_fts_docsize.sz` blob, or `nil` when the value is
    /// not such a blob (NULL: no row joined). The blob holds one varint per column, each column's
    /// token count, in SQLite's varint encoding (FTS5's `fts5_storage.c`,
    /// `fts5StorageDecodeSizeArray`); `xColumnSize(-1)` answers their sum from the same blob.
    static func documentLength(_ value: OpaquePointer?) -> Int32? {
        guard let value, sqlite3_value_type(value) == SQLITE_BLOB, let start = sqlite3_value_blob(value) else { return nil }
        return documentLength(sizes: UnsafeRawBufferPointer(start: start, count: Int(sqlite3_value_bytes(value))))
    }

    /// The sum of the varints of a `memory_fts_docsize.sz` blob (``SQLiteVarint``); `nil` when
    /// the blob ends inside a varint or a size does not fit an `Int32` (not a size blob: the
    /// caller asks FTS5 instead).
    static func documentLength(sizes bytes: UnsafeRawBufferPointer) -> Int32? {
        var total: UInt64 = 0
        var offset = 0
        while offset < bytes.count {
            guard let column = SQLiteVarint.read(bytes, at: &offset), column <= UInt64(Int32.max) else { return nil }
            total += column
        }
        return total <= UInt64(Int32.max) ? Int32(total) : nil
    }

    /// Counts each phrase's rows for `request` (see ``CountRequest``) and returns them; `nil`,
    /// with the statement failed (its message naming `function`), when one is common or there
    /// are too many phrases.
    static func countForRequest(
        _ api: UnsafePointer<Fts5ExtensionApi>, _ fts: OpaquePointer, _ context: OpaquePointer?,
        _ request: UnsafeMutablePointer<CountRequest>, phrases: Int, rows: Int64, tokens: Int64, function: String
    ) -> [Double]? {
        guard phrases <= request.pointee.capacity else {
            request.pointee.declined = true
            sqlite3_result_error(context, "\(function): more phrases than counts", -1)
            return nil
        }
        var hits: [Double] = []
        hits.reserveCapacity(phrases)
        var common = false
        var total: Int64 = 0
        for phrase in 0..<phrases {
            let (code, state) = countRows(api, fts, phrase: Int32(phrase), limit: request.pointee.limit)
            guard code == SQLITE_OK else {
                sqlite3_result_error_code(context, code)
                return nil
            }
            if state.count >= request.pointee.limit { common = true }
            total += state.count
            request.pointee.counts[phrase] = state.count
            request.pointee.reached[phrase] = state.reached
            hits.append(Double(state.count))
        }
        request.pointee.phrases = phrases
        request.pointee.rows = rows
        request.pointee.tokens = tokens
        guard !common, total <= request.pointee.rowBudget else {
            request.pointee.declined = true
            request.pointee.countsComplete = true
            sqlite3_result_error(context, "\(function): a common word, or more rows than the budget", -1)
            return nil
        }
        request.pointee.counted = true
        return hits
    }

    /// Each phrase's idf from its row count, as FTS5's bm25 computes it: log((N - n + 0.5) /
    /// (n + 0.5)), at least 1e-6; 0 for ``unscored``.
    static func idfs(hits: [Double], rows: Int64) -> [Double] {
        hits.map { hit -> Double in
            // ``unscored``: adds exactly 0 to every row's rank.
            guard hit >= 0 else { return 0 }
            let idf = log((Double(rows) - hit + 0.5) / (hit + 0.5))
            return idf <= 0 ? 1e-6 : idf
        }
    }

    /// Works out what the rank needs once per statement (a ``SQLiteRankState`` kept with
    /// `xSetAuxdata`): each phrase's idf, as FTS5's bm25 does (log((N - n + 0.5) / (n + 0.5)),
    /// at least 1e-6), then the average row length (tokens / rows). False, with the error set,
    /// on failure.
    private static func prepareRank(
        _ api: UnsafePointer<Fts5ExtensionApi>, _ fts: OpaquePointer, _ context: OpaquePointer?, hits: [Double], rows: Int64, tokens: Int64,
        depth: Int, floor: Double
    ) -> Bool {
        let state = UnsafeMutablePointer<SQLiteRankState>.allocate(capacity: 1)
        state.initialize(to: SQLiteRankState(idfs: idfs(hits: hits, rows: rows), average: Double(tokens) / Double(rows), depth: depth, floor: floor))
        let code = api.pointee.xSetAuxdata(fts, state) { pointer in
            guard let state = pointer?.assumingMemoryBound(to: SQLiteRankState.self) else { return }
            state.pointee.release()
            state.deinitialize(count: 1)
            state.deallocate()
        }
        guard code == SQLITE_OK else {
            // FTS5 has already called the destructor.
            sqlite3_result_error_code(context, code)
            return false
        }
        return true
    }

    /// The current row's rank from the statement's idfs: each phrase's weighted frequency in
    /// the row (key, column 0, 2.0; body 1.0) against the row's length in tokens, read from
    /// `sizes` (the row's `memory_fts_docsize.sz`) when the statement joined it, else from
    /// `memory_fts_docsize` through the state's blob handle, else asked of FTS5. Without
    /// `sizes`, in a statement that keeps its best rows only (DEPTH), a row that cannot be among
    /// them is given its bound instead (see ``SQLiteRankState``), its length never read.
    private static func rankRow(
        _ api: UnsafePointer<Fts5ExtensionApi>, _ fts: OpaquePointer, _ context: OpaquePointer?, sizes: OpaquePointer?,
        state: UnsafeMutablePointer<SQLiteRankState>, frequencies: UnsafeMutableBufferPointer<Double>
    ) {
        let joined = documentLength(sizes)
        // Rows that may be skipped: their rowid keeps one ranked twice from counting twice.
        let pruning = joined == nil && state.pointee.depth > 0
        let rowid = pruning ? api.pointee.xRowid(fts) : 0
        if pruning, let rank = state.pointee.repeated(rowid) {
            sqlite3_result_double(context, rank)
            return
        }
        // Each phrase's instances in this row, phrase by phrase (`xPhraseFirst`, which reads the
        // phrase's own position list, where `xInstCount` first merges every phrase's into one
        // sorted array for the row; the counts are the same).
        var code = SQLITE_OK
        // The last token of the key and of the body holding a phrase: the row is at least as
        // long as both together (offsets count tokens from 0 within their column).
        var keyReach: Int32 = 0
        var bodyReach: Int32 = 0
        for phrase in frequencies.indices {
            var iterator = Fts5PhraseIter()
            var column: Int32 = -1
            var offset: Int32 = 0
            code = api.pointee.xPhraseFirst(fts, Int32(phrase), &iterator, &column, &offset)
            guard code == SQLITE_OK else { break }
            while column >= 0 {
                frequencies[phrase] += column == 0 ? 2.0 : 1.0
                if column == 0 { keyReach = max(keyReach, offset + 1) } else if column == 1 { bodyReach = max(bodyReach, offset + 1) }
                api.pointee.xPhraseNext(fts, &iterator, &column, &offset)
            }
        }
        guard code == SQLITE_OK else {
            sqlite3_result_error_code(context, code)
            return
        }
        var length: Int32
        if let joined {
            length = joined
        } else {
            if pruning {
                let shortest = max(1, keyReach + bodyReach)
                let bound = state.pointee.score(frequencies, length: shortest)
                if state.pointee.excludes(bound) {
                    state.pointee.ranked(rowid, rank: -1.0 * bound, exactScore: nil)
                    sqlite3_result_double(context, -1.0 * bound)
                    return
                }
            }
            let row = pruning ? rowid : api.pointee.xRowid(fts)
            if let stored = state.pointee.storedLength(of: row, db: sqlite3_context_db_handle(context)) {
                length = stored
            } else {
                length = 0
                code = api.pointee.xColumnSize(fts, -1, &length)
                guard code == SQLITE_OK else {
                    sqlite3_result_error_code(context, code)
                    return
                }
            }
        }
        let score = state.pointee.score(frequencies, length: length)
        if pruning { state.pointee.ranked(rowid, rank: -1.0 * score, exactScore: score) }
        sqlite3_result_double(context, -1.0 * score)
    }
}
