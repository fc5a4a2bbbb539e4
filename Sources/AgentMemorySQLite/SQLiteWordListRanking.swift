import Foundation
import GRDBSQLite

/// The whole index's best rows for a search, ranked from the words' own row lists in one call
/// of an FTS5 function, `agent_memory_list_best(memory_fts, COUNTS, DEPTH)`, instead of one
/// row at a time through SQLite's virtual machine: for every search whose words are all rare,
/// and for common words while their rows are few enough (``SQLiteMemoryStore/wordListRows``).
///
/// The rank function's statement (`… WHERE memory_fts MATCH 'a OR b' ORDER BY rank LIMIT n`)
/// has FTS5 merge the words' lists into one, and SQLite step each matching row through a call
/// of the rank function, its sorter and (to read the row's length) a join. Here FTS5 walks
/// each word's list (`xQueryPhrase`, a word at a time, in C), noting each row's weighted
/// frequency of the word and where in the row the word was last seen; the lists are merged by
/// rowid, each row is given its bound (its score at the shortest length it can have,
/// ``SQLiteRankState``), and only rows whose bound can still reach the best `DEPTH` have their
/// length read (a seek in `memory_fts_docsize`, in rowid order after the rows of the `DEPTH`
/// best bounds) and their exact score computed. The scores are the rank function's to the bit
/// (the same frequencies added in the same order, the same lengths,
/// ``SQLiteRankState/score(_:length:)``), so the best `DEPTH` are its best rows with the same
/// ranks, rows of equal rank ordered by rowid. At a million records this took a fifth less
/// time than the rank function's statement for two rare words, and about a third less for a
/// rare word beside a common one (BENCHMARKS.md, round twenty-four).
///
/// COUNTS is each phrase's row count, as the rank function's `HITS` blob; or a
/// ``SQLiteSearchFunctions/CountRequest`` (bound as a pointer), for which the function first
/// counts the words' rows (``SQLiteSearchFunctions/countForRequest(_:_:_:_:phrases:rows:tokens:function:)``)
/// and declines as that does (a common word, or more rows than its budget) by failing the
/// statement. The result, on the first row of the match (the statement's `LIMIT 1`), is a blob
/// of the best rows, best first: a little-endian 64-bit rowid and the rank's 64-bit pattern
/// each (the rank negated, as the rank function's is).
enum SQLiteWordListRanking {
    /// The function's name.
    static let functionName = "agent_memory_list_best"

    /// A row of one word's list: its weighted frequency of the word (key 2.0, body 1.0 an
    /// instance) and one past the offset of its last instance in the key and in the body.
    private struct Entry {
        var rowid: Int64
        var frequency: Double
        var keyReach: Int32
        var bodyReach: Int32
    }

    /// The walk of one word's list (`xQueryPhrase`'s callback state): its rows, in rowid order.
    private struct Walk {
        var entries: [Entry] = []
    }

    /// `agent_memory_list_best(memory_fts, COUNTS, DEPTH)` (see the type's summary).
    static let function: fts5_extension_function = { api, fts, context, count, values in
        guard let api, let fts else { return }
        guard count >= 2 else {
            sqlite3_result_error(context, "\(functionName): row counts or a count request, and a depth expected", -1)
            return
        }
        let depth = max(1, Int(sqlite3_value_int64(values?[1])))
        let phrases = Int(api.pointee.xPhraseCount(fts))
        guard let (rows, tokens) = SQLiteSearchFunctions.indexTotals(api, fts, context) else { return }
        let hits: [Double]
        if let request = sqlite3_value_pointer(values?[0], SQLiteSearchFunctions.countRequestType)?
            .assumingMemoryBound(to: SQLiteSearchFunctions.CountRequest.self)
        {
            // Each word's rows counted first, without reading where the word is in them: a
            // common word (the usual reason to decline) costs no more than the count.
            guard let counted = SQLiteSearchFunctions.countForRequest(
                api, fts, context, request, phrases: phrases, rows: rows, tokens: tokens, function: functionName)
            else { return }
            hits = counted
        } else if let counts = SQLiteSearchFunctions.hitsArgument(values?[0], phrases: phrases) {
            hits = counts
        } else {
            sqlite3_result_error(context, "\(functionName): one row count per phrase expected", -1)
            return
        }
        // Then each word's list again, each row noted with where the word is in it.
        var lists: [[Entry]] = []
        lists.reserveCapacity(phrases)
        for phrase in 0..<phrases {
            var walk = Walk()
            walk.entries.reserveCapacity(max(0, Int(hits[phrase])))
            let code = withUnsafeMutablePointer(to: &walk) { api.pointee.xQueryPhrase(fts, Int32(phrase), $0, noteRow) }
            guard code == SQLITE_OK else {
                sqlite3_result_error_code(context, code)
                return
            }
            lists.append(walk.entries)
        }
        var state = SQLiteRankState(
            idfs: SQLiteSearchFunctions.idfs(hits: hits, rows: rows), average: Double(tokens) / Double(rows), depth: depth,
            floor: -Double.infinity)
        defer { state.release() }
        guard let best = best(lists, depth: depth, state: &state, db: sqlite3_context_db_handle(context)) else {
            sqlite3_result_error(context, "\(functionName): a row's length could not be read", -1)
            return
        }
        var bytes = [UInt8]()
        bytes.reserveCapacity(best.count * 16)
        for row in best {
            withUnsafeBytes(of: row.rowid.littleEndian) { bytes.append(contentsOf: $0) }
            withUnsafeBytes(of: row.rank.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
        }
        bytes.withUnsafeBytes { buffer in
            sqlite3_result_blob(context, buffer.baseAddress, Int32(buffer.count), unsafeBitCast(-1, to: sqlite3_destructor_type.self))
        }
    }

    /// `xQueryPhrase`'s callback: notes the row.
    private static let noteRow: @convention(c) (
        UnsafePointer<Fts5ExtensionApi>?, OpaquePointer?, UnsafeMutableRawPointer?
    ) -> Int32 = { api, fts, user in
        guard let api, let fts, let user else { return SQLITE_ERROR }
        // The sub-query holds the one word, phrase 0; its instances as the rank function counts them.
        var entry = Entry(rowid: api.pointee.xRowid(fts), frequency: 0, keyReach: 0, bodyReach: 0)
        var iterator = Fts5PhraseIter()
        var column: Int32 = -1
        var offset: Int32 = 0
        let code = api.pointee.xPhraseFirst(fts, 0, &iterator, &column, &offset)
        guard code == SQLITE_OK else { return code }
        while column >= 0 {
            entry.frequency += column == 0 ? 2.0 : 1.0
            if column == 0 { entry.keyReach = max(entry.keyReach, offset + 1) } else if column == 1 { entry.bodyReach = max(entry.bodyReach, offset + 1) }
            api.pointee.xPhraseNext(fts, &iterator, &column, &offset)
        }
        user.assumingMemoryBound(to: Walk.self).pointee.entries.append(entry)
        return SQLITE_OK
    }

    /// The best `depth` rows of the merged `lists` (each in rowid order), best first (ties by
    /// rowid); `nil` when a length cannot be read.
    private static func best(
        _ lists: [[Entry]], depth: Int, state: inout SQLiteRankState, db: OpaquePointer?
    ) -> [(rowid: Int64, rank: Double)]? {
        let phrases = lists.count
        // Merged by rowid: each row's frequencies (`phrases` a row) and shortest length.
        var rowids: [Int64] = []
        var frequencies: [Double] = []
        var shortest: [Int32] = []
        let capacity = lists.reduce(0) { $0 + $1.count }
        rowids.reserveCapacity(capacity)
        frequencies.reserveCapacity(capacity * phrases)
        shortest.reserveCapacity(capacity)
        var positions = [Int](repeating: 0, count: phrases)
        while true {
            // The lowest rowid at the lists' heads (any rowid is valid, `Int64.max` too).
            var lowest: Int64?
            for phrase in 0..<phrases where positions[phrase] < lists[phrase].count {
                let rowid = lists[phrase][positions[phrase]].rowid
                if lowest.map({ rowid < $0 }) ?? true { lowest = rowid }
            }
            guard let next = lowest else { break }
            var keyReach: Int32 = 0
            var bodyReach: Int32 = 0
            for phrase in 0..<phrases {
                if positions[phrase] < lists[phrase].count, lists[phrase][positions[phrase]].rowid == next {
                    let entry = lists[phrase][positions[phrase]]
                    frequencies.append(entry.frequency)
                    keyReach = max(keyReach, entry.keyReach)
                    bodyReach = max(bodyReach, entry.bodyReach)
                    positions[phrase] += 1
                } else {
                    frequencies.append(0)
                }
            }
            rowids.append(next)
            shortest.append(max(1, keyReach + bodyReach))
        }
        return frequencies.withUnsafeMutableBufferPointer { all -> [(rowid: Int64, rank: Double)]? in
            guard let base = all.baseAddress else { return [] }
            let row = { (index: Int) in UnsafeMutableBufferPointer(start: base + index * phrases, count: phrases) }
            let bounds = rowids.indices.map { state.score(row($0), length: shortest[$0]) }
            var scored: [(rowid: Int64, rank: Double)] = []
            var done = [Bool](repeating: false, count: rowids.count)
            // First the rows of the `depth` best bounds: their exact scores give the best
            // `depth` a floor at once. Then every row whose bound still reaches it, in rowid
            // order (each length read is a seek in `memory_fts_docsize`, cheaper near the last).
            let first = nthLargest(bounds, depth)
            for pass in 0..<2 {
                for index in rowids.indices where !done[index] {
                    if pass == 0 ? bounds[index] < first : state.excludes(bounds[index]) { continue }
                    guard let length = state.storedLength(of: rowids[index], db: db) else { return nil }
                    let score = state.score(row(index), length: length)
                    state.ranked(rowids[index], rank: -1.0 * score, exactScore: score)
                    scored.append((rowids[index], -1.0 * score))
                    done[index] = true
                }
            }
            // Only the rows that can be among the best `depth` are sorted.
            let lowest = state.lowestOfBest
            scored.removeAll { -$0.rank < lowest }
            scored.sort { $0.rank != $1.rank ? $0.rank < $1.rank : $0.rowid < $1.rowid }
            return Array(scored.prefix(depth))
        }
    }

    /// The `n`th largest of `values`, or `-infinity` when there are fewer (the heap of a
    /// ``SQLiteRankState`` of depth `n` keeps the `n` largest).
    static func nthLargest(_ values: [Double], _ n: Int) -> Double {
        guard n > 0, values.count >= n else { return -Double.infinity }
        var heap = SQLiteRankState(idfs: [], average: 1, depth: n, floor: -Double.infinity)
        defer { heap.release() }
        for value in values { heap.ranked(0, rank: 0, exactScore: value) }
        return heap.lowestOfBest
    }
}
