import AgentMemoryCore
import Foundation
import GRDB
import GRDBSQLite
import Synchronization

/// The records' side of the full-text index: notes every change the index must apply, in the
/// transaction that makes it (the index itself lives in a file of its own, brought up to date
/// by ``SQLiteSearchIndexFile``'s passes, off the records' write lock).
///
/// What the index must learn from a write: for a record that existed when the transaction
/// began and that it changes (updates or deletes), the text the record had then, which is what
/// the index holds for it unless it changed again since the index's last pass (and then an
/// earlier note holds that text). A new record numbered by this code needs no note: its id is
/// above every id the index may hold (see ``SQLiteSearchIndexFile``). A new record whose id
/// SQLite picked (at the top of the id range) may be numbered below that, and gets a note
/// marked "not held" (an empty key and text: keys are never empty), which tells a pass to
/// index it without removing anything first. Every write to `memory_records` reports the row
/// first (``willChange``, ``willDelete(where:arguments:db:)``, ``didInsert(ids:)``,
/// ``didInsert(pickedID:)``); the first report of a row in a transaction captures its key and
/// indexed text as the transaction found them (nothing for a new row). Just before the
/// transaction commits (``flush(_:)``), each captured text becomes a row of
/// `memory_fts_notes`, numbered after every note before it. Notes commit with the
/// records, so a crash or a rollback keeps or drops both together, and any process's pass can
/// apply them (everything is in the files). Notes are written once per transaction, after all
/// its savepoints: a write whose savepoint rolled back may leave a row reported that did not
/// change, and indexing it again is harmless, because a note always holds the text the index
/// holds.
///
/// The same flush deletes the notes below the highest one this process's passes have applied
/// (``appliedMark``), keeping that one, so that note numbers never go back.
final class SQLiteSearchIndexing: Sendable {
    /// A row's text as the index holds it.
    private struct IndexedText: Sendable {
        let key: String
        let body: String
    }

    /// The rows reported in the current transaction.
    private struct Reported: Sendable {
        /// Every reported row id, but those of ``inserted``.
        var touched: Set<Int64> = []
        /// Runs of ids reported by ``didInsert(ids:)``, kept as runs: a batch's thousand new
        /// ids hashed one by one into ``touched`` were 2% of its own (Swift) time.
        var inserted: [Range<Int64>] = []
        /// The text of each reported row that existed when the transaction began.
        var indexed: [Int64: IndexedText] = [:]
        /// New rows whose ids SQLite picked, first reported by their insert: each gets a
        /// "not held" note.
        var picked: [Int64] = []

        var isEmpty: Bool { touched.isEmpty && inserted.isEmpty }

        /// Rows reported (an id reported twice, inserted again after a delete, counts twice).
        var count: Int { inserted.reduce(touched.count) { $0 + $1.count } }

        /// Reports `id`; returns whether it is the row's first report in the transaction.
        mutating func report(_ id: Int64) -> Bool {
            !inserted.contains(where: { $0.contains(id) }) && touched.insert(id).inserted
        }
    }

    /// The write path's prepared statements (``SQLiteWriterStatements``), the store's.
    let statements: SQLiteWriterStatements

    init(statements: SQLiteWriterStatements = SQLiteWriterStatements()) {
        self.statements = statements
    }

    private let reported = Locked(Reported())
    /// Rows this process wrote since its last pass began (an estimate that asks for the next
    /// background pass: other processes' rows are not counted, rows of rolled-back
    /// transactions are).
    private let unindexed = Atomic(0)
    /// Rows this process has written (notes and new records, as ``unindexed`` counts them),
    /// never reset: how far its writes moved the records' positions, for
    /// ``SQLiteMemoryStore/closeLooksAtIndex(positions:written:)``.
    let written = Atomic(0)
    /// The highest note this process's passes have applied (0 before the first).
    let appliedMark = Atomic<Int64>(0)
    /// The number below which this process last deleted the notes.
    private let deletedBelow = Atomic<Int64>(0)

    /// Rows written by this process after which a commit asks for a background pass
    /// (``SQLiteSearchIndexFile/requestBackgroundPass()``); a large batch asks earlier, as it
    /// begins (``overlapThreshold``).
    ///
    /// Larger passes index for less: FTS5 writes each pass as a segment and merges segments
    /// level by level (8 at a time), so the smaller the segments, the more often each row is
    /// rewritten. Indexing 20,480 notes after 10,000 (`scripts/bench/fts_catchup_profile.py`'s
    /// data, CPU time, merging 4 at a time): 4.6 µs a row in batches of 512, 4.0 at 1,024, 3.7
    /// at 2,048, 3.1 at 4,096 (BENCHMARKS.md, round thirty-four). The price: a search that finds
    /// rows not yet indexed waits for a pass over them, up to about this many.
    static let catchUpThreshold = 4_096

    /// Every this many passes, the pass in progress also does some of FTS5's merge work
    /// (``mergePages``).
    ///
    /// FTS5 writes each transaction's entries as a new segment and merges segments a little
    /// per write, in proportion to what was written: after many small writes the merging lags
    /// and segments pile up, up to about 16 a level, and a search looks every word up in every
    /// segment. At 1,000 records, 400 single puts left 19 segments and a two-word `bm25()`
    /// search took 160 µs; `('merge', 32)` every 8 transactions left 4 segments and 73 µs
    /// (`scripts/bench/fts_segments.py`). Passes before searches that follow single writes are
    /// such small writes, so the merge work runs every 8 passes.
    static let mergeInterval = 8
    /// Pages of merge work (FTS5's `'merge'` command, positive: only levels that hold
    /// `usermerge` (4) segments or more are merged, so a compact index costs nothing).
    static let mergePages = 32

    /// Forgets what a previous transaction left (one that rolled back before ``flush(_:)``).
    func transactionBegan() {
        reported.withLock { $0 = Reported() }
    }

    /// Reports a row just inserted with an id SQLite picked (when there is no room above the
    /// highest): the id held no row when the transaction began, unless reported before
    /// (deleted earlier in the transaction, which captured its text); but it may be at or below
    /// the index's `through`, so the row gets a "not held" note.
    func didInsert(pickedID id: Int64) {
        reported.withLock { reported in
            if reported.report(id) { reported.picked.append(id) }
        }
    }

    /// Reports rows just inserted with ids this code gave, one above every id a record or a
    /// note holds (``DeferredInserts/firstFreeID(_:room:statements:)``): no row had them when
    /// the transaction began, and the index holds none of them.
    func didInsert(ids: Range<Int64>) {
        guard !ids.isEmpty else { return }
        reported.withLock { reported in
            if let last = reported.inserted.last, last.upperBound == ids.lowerBound {
                reported.inserted[reported.inserted.count - 1] = last.lowerBound..<ids.upperBound
            } else {
                reported.inserted.append(ids)
            }
        }
    }

    /// Reports the row of `key` before an update or a delete changes it.
    func willChange(namespace: String, key: String, db: Database) throws {
        let statement = try statements.statement(Self.selectIndexedText, db)
        let row = try SQLiteStoredRow.firstRow(statement, db: db, bind: { handle in
            _ = SQLiteBinder.bind(namespace, to: handle, at: 1)
            _ = SQLiteBinder.bind(key, to: handle, at: 2)
        }, read: { handle in
            (id: sqlite3_column_int64(handle, 0), key: SQLiteStoredRow.text(handle, 1) ?? "", body: SQLiteStoredRow.text(handle, 2) ?? "")
        })
        if let row { capture(id: row.id, key: row.key, body: row.body) }
    }

    /// The records' ids, keys and indexed texts (a `WHERE` clause follows): what the index
    /// holds for a row, read by the passes and by the reports of changed rows alike.
    private static let selectIndexedRows = "SELECT id, key, \(SQLiteIndexedBody.rowText) FROM memory_records"

    private static let selectIndexedText = SQLiteStatementText("\(selectIndexedRows) WHERE namespace = ? AND key = ?")

    /// Reports a row about to be updated or deleted, as ``willChange(namespace:key:db:)`` does,
    /// from what the caller read of it in this transaction (its id and indexed text).
    func willChange(id: Int64, key: String, body: String) {
        capture(id: id, key: key, body: body)
    }

    /// Reports the rows a `DELETE FROM memory_records WHERE <predicate>` is about to remove.
    func willDelete(where predicate: String, arguments: StatementArguments, db: Database) throws {
        let rows = try Row.fetchCursor(
            db, sql: "\(Self.selectIndexedRows) WHERE \(predicate)", arguments: arguments)
        while let row = try rows.next() { capture(id: row[0], key: row[1], body: row[2]) }
    }

    /// Keeps a row's text as the transaction found it, at its first report.
    private func capture(id: Int64, key: String, body: String) {
        reported.withLock { reported in
            // Only the first report counts: later ones see this transaction's own writes.
            if reported.report(id) {
                reported.indexed[id] = IndexedText(key: key, body: body)
            }
        }
    }

    /// Notes the captured texts in `memory_fts_notes` and deletes the notes this process's
    /// passes have applied; called last in the transaction.
    func flush(_ db: Database) throws {
        let work = reported.withLock { reported -> Reported in
            defer { reported = Reported() }
            return reported
        }
        if hasAppliedNotesToDelete {
            let applied = appliedMark.load(ordering: .relaxed)
            // Kept: the note at the mark itself, so that the next note is numbered after it.
            try SQLiteStoredRow.execute(statements.statement(Self.deleteApplied, db), db: db, arena: nil) { $0.integer(applied) }
            deletedBelow.store(applied, ordering: .relaxed)
        }
        guard !work.isEmpty else { return }
        if !work.indexed.isEmpty || !work.picked.isEmpty {
            let note = try statements.statement(Self.insertNote, db)
            let arena = statements.textArena(db)
            for (id, text) in work.indexed {
                try SQLiteStoredRow.execute(note, db: db, arena: arena) { binder in
                    binder.integer(id)
                    binder.text(text.key)
                    binder.text(text.body)
                }
            }
            for id in work.picked {
                try SQLiteStoredRow.execute(note, db: db, arena: arena) { binder in
                    binder.integer(id)
                    binder.text(Self.notHeld)
                    binder.text(Self.notHeld)
                }
            }
        }
        unindexed.add(work.count, ordering: .relaxed)
        written.add(work.count, ordering: .relaxed)
    }

    /// The key and text of a "not held" note: a row the index did not hold when the note was
    /// written (record keys are never empty).
    static let notHeld = ""

    private static let insertNote = SQLiteStatementText("INSERT INTO memory_fts_notes (id, key, body) VALUES (?, ?, ?)")
    private static let deleteApplied = SQLiteStatementText("DELETE FROM memory_fts_notes WHERE seq < ?")

    /// Whether this process has written ``catchUpThreshold`` rows since its last pass began
    /// (then the commit asks for a background pass).
    var passIsDue: Bool { unindexed.load(ordering: .relaxed) >= Self.catchUpThreshold }

    /// Operations in one write from which the write asks, as it begins, for a background pass
    /// over the rows pending, when at least this many are: the pass then indexes them on
    /// another core beside the write, which takes about as long as the pass or longer (a
    /// batch of 1,000 puts 4 to 6 ms, a pass over 1,000 rows about 4 ms), instead of after a
    /// later commit, when nothing else runs beside it. Smaller passes cost more a row (FTS5 rewrites small
    /// segments as it merges them: ``catchUpThreshold``), so a write this large is worth one.
    static let overlapThreshold = 1_000

    /// Whether a write of `operations` operations asks for a pass as it begins
    /// (``overlapThreshold``).
    func passOverlaps(_ operations: Int) -> Bool {
        operations >= Self.overlapThreshold && unindexed.load(ordering: .relaxed) >= Self.overlapThreshold
    }

    /// Whether a pass of this process applied notes that no write of it has deleted since.
    var hasAppliedNotesToDelete: Bool {
        appliedMark.load(ordering: .relaxed) > deletedBelow.load(ordering: .relaxed)
    }

    /// Records that the index has applied the notes through `mark` (read from its committed
    /// state by a closing store), so that the next write deletes those below it, as after a
    /// pass of this process.
    func indexApplied(through mark: Int64) {
        _ = appliedMark.max(mark, ordering: .relaxed)
    }

    /// Called as a pass begins: the rows counted so far are the pass's.
    func passBegan() {
        unindexed.store(0, ordering: .relaxed)
    }

    /// FTS5's structure record (row 10 of `memory_fts_data`; `fts5_index.c`, "Structure
    /// Record"): a 4-byte cookie, varints for the levels, the segments and the write counter,
    /// then for each level the segments of its merge in progress and its segment count, and for
    /// each segment its id and its first and last leaf page. `nil` before the index is written.
    private static func structureRecord(_ db: Database) throws -> Data? {
        try Data.fetchOne(db, sql: "SELECT block FROM memory_fts_data WHERE id = 10")
    }

    /// The segments of the full-text index: what each word of a search is looked up in (the
    /// structure record's second varint).
    static func segmentCount(_ db: Database) throws -> Int {
        guard let block = try structureRecord(db) else { return 0 }
        return block.withUnsafeBytes { bytes in
            var offset = 4
            guard SQLiteVarint.read(bytes, at: &offset) != nil,  // levels
                  let segments = SQLiteVarint.read(bytes, at: &offset)
            else { return 0 }
            return Int(clamping: segments)
        }
    }

    /// Each segment's leaf pages, read from the whole structure record (``SQLiteIndexMerger``
    /// weighs them); `nil` when the record does not read exactly so (a layout of another SQLite).
    static func segmentPages(_ db: Database) throws -> [Int]? {
        guard let block = try structureRecord(db) else { return [] }
        return block.withUnsafeBytes { bytes -> [Int]? in
            var offset = 4
            guard let levels = SQLiteVarint.read(bytes, at: &offset), levels <= 64,
                  let segments = SQLiteVarint.read(bytes, at: &offset), segments <= 2_000,
                  SQLiteVarint.read(bytes, at: &offset) != nil  // the write counter
            else { return nil }
            var pages: [Int] = []
            for _ in 0..<levels {
                guard SQLiteVarint.read(bytes, at: &offset) != nil, let count = SQLiteVarint.read(bytes, at: &offset),
                      count <= segments
                else { return nil }
                for _ in 0..<count {
                    guard SQLiteVarint.read(bytes, at: &offset) != nil,
                          let first = SQLiteVarint.read(bytes, at: &offset), let last = SQLiteVarint.read(bytes, at: &offset),
                          last >= first, last < 1 << 40
                    else { return nil }
                    pages.append(Int(last - first + 1))
                }
            }
            guard offset == bytes.count, pages.count == Int(segments) else { return nil }
            return pages
        }
    }
}
