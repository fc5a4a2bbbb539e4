import AgentMemoryCore
import Foundation
import GRDB
import GRDBSQLite
import Synchronization

/// Keeps the full-text index in step with the records: the one place that writes `memory_fts`
/// (FTS5 over `memory_records`' `key` and `body`, external content, rowid = the record's id).
///
/// Writes do not touch FTS5 (a new FTS5 segment per transaction made a single put 1.6 to 2.4
/// times as expensive): each transaction notes, just before it commits (``flush(_:)``), the
/// rows it changed that the index may hold in `memory_fts_pending`, and the index catches up
/// on them later, all at once (``catchUp(_:)``): when this process has written
/// ``catchUpThreshold`` rows, before a search that finds any pending
/// (``SQLiteMemoryStore/catchUpIndex()``), and at close.
/// The pending rows commit with the records, so a crash or a rollback keeps or drops both
/// together, and any process on the file may catch up (everything is in the database).
///
/// What the index holds for a row: for a row in `memory_fts_pending`, the key and body noted
/// there (nothing when they are NULL); for a row numbered above every row the index holds
/// (``indexedThrough(_:)``, the highest `_docsize` id), nothing; for any other row, the row's
/// key and body as they are. So a new row, which SQLite numbers above every record, needs no
/// note unless a deleted row that the index still holds was numbered as high (and a catch-up
/// indexes the noted rows and every record numbered above the index).
///
/// How the notes stay exact: every write to `memory_records` reports the row first
/// (``willChange``, ``willDelete(where:arguments:db:)``, ``didInsert(id:)``). The first report
/// of a row in a transaction captures its key and body as the transaction found them (nothing
/// for a new row): what the index holds, unless the row is already pending. At ``flush(_:)``
/// each reported row is noted with `INSERT OR IGNORE`, so a row already pending keeps its
/// note (the first since the last catch-up wins: that is what the index still holds). Notes
/// are written once per transaction, after all its savepoints: a write whose savepoint rolled
/// back may leave a row reported that did not change, and re-indexing it is harmless, because
/// the note is always what the index holds.
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

        var isEmpty: Bool { touched.isEmpty && inserted.isEmpty }

        /// Rows reported (an id reported twice, inserted again after a delete, counts twice).
        var count: Int { inserted.reduce(touched.count) { $0 + $1.count } }

        /// Reports `id`; returns whether it is the row's first report in the transaction.
        mutating func report(_ id: Int64) -> Bool {
            !inserted.contains(where: { $0.contains(id) }) && touched.insert(id).inserted
        }

        /// The reported ids at or below `through` (new rows are numbered above it, so the runs
        /// rarely add any).
        func ids(through: Int64) -> Set<Int64> {
            var ids = touched.filter { $0 <= through }
            for run in inserted where run.lowerBound <= through {
                for id in run where id <= through { ids.insert(id) }
            }
            return ids
        }
    }

    /// The write path's prepared statements (``SQLiteWriterStatements``), the store's.
    let statements: SQLiteWriterStatements

    init(statements: SQLiteWriterStatements = SQLiteWriterStatements()) {
        self.statements = statements
    }

    private let reported = Locked(Reported())
    /// Catch-ups since the index last did merge work.
    private let catchUpsSinceMerge = Atomic(0)
    /// Rows this process wrote (noted, or new above the index) since it last caught up: an
    /// estimate that starts the next catch-up (other processes' rows are not counted, rows of
    /// rolled-back transactions are).
    private let notedSinceCatchUp = Atomic(0)

    /// Rows written by this process after which the transaction writing them also catches the
    /// index up, so that a workload of writes alone indexes in batches and the pending table
    /// stays bounded.
    ///
    /// Larger batches index for less: FTS5 writes each batch as a segment and merges segments
    /// level by level (8 at a time since round thirty-five's migration, 4 before), so the
    /// smaller the segments, the more often each row is rewritten. Indexing 20,480 notes after
    /// 10,000 (`scripts/bench/fts_catchup_profile.py`'s data, CPU time, merging 4 at a time):
    /// 4.6 µs a row in batches of 512, 4.0 at 1,024, 3.7 at 2,048, 3.1 at 4,096; at 512 the
    /// merges were 38% of FTS5's instructions (BENCHMARKS.md, round thirty-four). The price: a
    /// search that finds rows pending indexes them first, up to this many (`bench`'s "search
    /// limit 10 right after a batch of 4,000 puts": 9 to 10 ms at the median, p99 15 to 24 ms;
    /// 11 to 13 and up to 35 ms merging 4 at a time), and so does the write that passes the
    /// threshold.
    static let catchUpThreshold = 4_096

    /// Every this many catch-ups, the one in progress also does some of FTS5's merge work
    /// (``mergePages``).
    ///
    /// FTS5 writes each transaction's entries as a new segment and merges segments a little
    /// per write, in proportion to what was written: after many small writes the merging lags
    /// and segments pile up, up to about 16 a level, and a search looks every word up in every
    /// segment. At 1,000 records, 400 single puts left 19 segments and a two-word `bm25()`
    /// search took 160 µs; `('merge', 32)` every 8 transactions left 4 segments and 73 µs
    /// (`scripts/bench/fts_segments.py`). Catch-ups before searches that follow single writes
    /// are such small writes, so the merge work runs every 8 catch-ups. The price is the pages the merges write: more WAL, checkpoints
    /// sooner (BENCHMARKS.md, round five).
    static let mergeInterval = 8
    /// Pages of merge work (FTS5's `'merge'` command, positive: only levels that hold
    /// `usermerge` (4) segments or more are merged, so a compact index costs nothing).
    static let mergePages = 32

    /// Forgets what a previous transaction left (one that rolled back before ``flush(_:)``).
    func transactionBegan() {
        reported.withLock { $0 = Reported() }
    }

    /// Reports a row just inserted: its id held no row when the transaction began, unless
    /// reported before (deleted earlier in the transaction, which captured its text).
    func didInsert(id: Int64) {
        reported.withLock { _ = $0.report(id) }
    }

    /// Reports rows just inserted, as ``didInsert(id:)`` does each.
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
    /// holds for a row, read by the catch-up and by the reports of changed rows alike.
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

    /// Notes the reported rows the index may hold in `memory_fts_pending`, then catches the
    /// index up if this process has written ``catchUpThreshold`` rows; called last in the
    /// transaction.
    func flush(_ db: Database) throws {
        let work = reported.withLock { reported -> Reported in
            defer { reported = Reported() }
            return reported
        }
        guard !work.isEmpty else { return }
        // Rows numbered above every row the index holds need no note: the index holds nothing
        // for them, and a catch-up indexes every record numbered above it (a new row is always
        // numbered above every record, so this is most inserts). Such a row captured by an
        // update or a delete holds no text in the index either.
        let through = try indexedThrough(db)
        let texts = work.indexed.filter { $0.key <= through }
        if !texts.isEmpty {
            let note = try statements.statement(Self.insertPendingText, db)
            let arena = statements.textArena(db)
            for (id, text) in texts {
                try SQLiteStoredRow.execute(note, db: db, arena: arena) { binder in
                    binder.integer(id)
                    binder.text(text.key)
                    binder.text(text.body)
                }
            }
        }
        // Other rows at or below that number, new ones (a row numbered again after the
        // highest was deleted), in runs of consecutive ids, with no text: the index holds none
        // for them (unless the row is already pending, and so kept).
        let fresh = work.ids(through: through).filter { texts[$0] == nil }
        if !fresh.isEmpty { try noteWithoutText(fresh, db: db) }
        if notedSinceCatchUp.add(work.count, ordering: .relaxed).newValue >= Self.catchUpThreshold {
            // In a savepoint of its own: a catch-up that fails (a full disk) is rolled back and
            // left for later (the notes stay); it never fails the writes it rides with.
            try? db.inSavepoint {
                try catchUp(db)
                return .commit
            }
        }
    }

    private static let insertPendingText = SQLiteStatementText("INSERT OR IGNORE INTO memory_fts_pending (id, key, body) VALUES (?, ?, ?)")

    /// Notes `ids` with no text, in runs of consecutive ids.
    private func noteWithoutText(_ fresh: Set<Int64>, db: Database) throws {
        let one = try db.cachedStatement(sql: "INSERT OR IGNORE INTO memory_fts_pending (id) VALUES (?)")
        let run = try db.cachedStatement(sql: """
            WITH RECURSIVE ids(id) AS (SELECT ?1 UNION ALL SELECT id + 1 FROM ids WHERE id < ?2)
            INSERT OR IGNORE INTO memory_fts_pending (id) SELECT id FROM ids
            """)
        for ids in Self.runs(of: fresh) {
            if ids.lowerBound == ids.upperBound {
                try one.execute(arguments: [ids.lowerBound])
            } else {
                try run.execute(arguments: [ids.lowerBound, ids.upperBound])
            }
        }
    }

    /// The highest row id the index holds (FTS5 keeps one `_docsize` row per indexed row), 0
    /// when it holds none: rows numbered above it are not indexed. Inside a write transaction
    /// it comes from the writer's memo when known (``SQLiteWriterMemo``).
    func indexedThrough(_ db: Database) throws -> Int64 {
        if let known = statements.memo.indexedThrough { return known }
        let through = try SQLiteStoredRow.firstRow(statements.statement(Self.selectIndexedThrough, db), db: db) { sqlite3_column_int64($0, 0) } ?? 0
        statements.memo.noteIndexedThrough(through)
        return through
    }

    private static let selectIndexedThrough = SQLiteStatementText("SELECT COALESCE(MAX(id), 0) FROM memory_fts_docsize")

    /// Whether any row waits for the index to catch up: one is noted, or a record is numbered
    /// above every indexed row (every search asks: stepped with SQLite's C API, about a
    /// microsecond, where GRDB's `fetchOne` cost several).
    static func hasPendingRows(_ db: Database) throws -> Bool {
        try step(db, sql: pendingRowsQuery) { sqlite3_column_int($0, 0) != 0 } ?? false
    }

    /// One row, one column: 1 when ``hasPendingRows(_:)``, else 0.
    static let pendingRowsQuery = """
        SELECT EXISTS (SELECT 1 FROM memory_fts_pending)
            OR COALESCE((SELECT MAX(id) FROM memory_records), 0) > COALESCE((SELECT MAX(id) FROM memory_fts_docsize), 0)
        """

    /// The first row of a cached statement without arguments, read by `column`; `nil` when it
    /// returns none.
    private static func step<T>(_ db: Database, sql: String, _ column: (OpaquePointer) -> T) throws -> T? {
        try SQLiteStoredRow.firstRow(db.cachedStatement(sql: sql), db: db, read: column)
    }

    /// Brings the index up to date with every pending row, in the calling write transaction
    /// (after its own ``flush(_:)``, never between two writes of a group): each noted text is
    /// removed with FTS5's `'delete'` command (an external-content table needs the old values
    /// for it), the pending rows that exist now are indexed with one `INSERT ... SELECT`, and
    /// the pending table is emptied.
    func catchUp(_ db: Database) throws {
        guard try Self.hasPendingRows(db) else {
            notedSinceCatchUp.store(0, ordering: .relaxed)
            return
        }
        // Read before the deletes, which may remove the highest indexed row.
        let through = try indexedThrough(db)
        // The bound moves now: read again by the next flush, as the catch-up leaves it (or,
        // should its savepoint roll back, as it was).
        statements.memo.noteIndexedThrough(nil)
        try db.cachedStatement(sql: """
            INSERT INTO memory_fts (memory_fts, rowid, key, body)
            SELECT 'delete', id, key, body FROM memory_fts_pending WHERE key IS NOT NULL
            """).execute()
        // `id IN (...)` and `id > ?`: the records are looked up by rowid, never scanned.
        try db.cachedStatement(sql: Self.indexPendingRows).execute()
        try db.cachedStatement(sql: Self.indexRowsAbove).execute(arguments: [through])
        try db.cachedStatement(sql: "DELETE FROM memory_fts_pending").execute()
        notedSinceCatchUp.store(0, ordering: .relaxed)
        if catchUpsSinceMerge.add(1, ordering: .relaxed).newValue >= Self.mergeInterval {
            catchUpsSinceMerge.store(0, ordering: .relaxed)
            // In a savepoint of its own: merge work that fails (a full disk) is rolled back and
            // left for a later catch-up; it never fails the catch-up it rides with.
            try? db.inSavepoint {
                try db.cachedStatement(sql: "INSERT INTO memory_fts (memory_fts, rank) VALUES ('merge', ?)")
                    .execute(arguments: [Self.mergePages])
                return .commit
            }
        }
    }

    /// Indexes the noted rows that exist now (a catch-up's second statement).
    private static let indexPendingRows = """
        INSERT INTO memory_fts (rowid, key, body)
        \(selectIndexedRows) WHERE id IN (SELECT id FROM memory_fts_pending)
        """

    /// Indexes the rows numbered above `?` that are not noted (a catch-up's third statement).
    private static let indexRowsAbove = """
        INSERT INTO memory_fts (rowid, key, body)
        \(selectIndexedRows) WHERE id > ? AND id NOT IN (SELECT id FROM memory_fts_pending)
        """

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

    /// `ids` as ascending runs of consecutive numbers.
    static func runs(of ids: Set<Int64>) -> [ClosedRange<Int64>] {
        var runs: [ClosedRange<Int64>] = []
        for id in ids.sorted() {
            if let last = runs.last, last.upperBound == id - 1 {
                runs[runs.count - 1] = last.lowerBound...id
            } else {
                runs.append(id...id)
            }
        }
        return runs
    }
}
