import Foundation
import GRDB
import Synchronization

/// Keeps the full-text index in step with the records: the one place that writes `memory_fts`
/// (FTS5 over `memory_records`' `key` and `body`, external content, rowid = the record's id).
///
/// The index is brought up to date once per transaction, just before it commits, instead of by
/// a trigger per row: a turn's or a batch's new rows go in with one `INSERT ... SELECT`, several
/// times cheaper than one FTS5 insert per row. It happens inside the transaction, so a commit
/// holds its index entries (search sees every committed write) and a crash or rollback drops
/// both together.
///
/// How it stays exact: every write to `memory_records` reports the row first (``willChange``,
/// ``willDelete(where:arguments:db:)``, ``didInsert(id:)``). The first report of a row in a
/// transaction captures what the index holds for it (the row's key and body as the transaction
/// found them, or nothing for a new row); the index is not touched until ``flush(_:)``. There,
/// each captured entry is removed with FTS5's `'delete'` command (an external-content table
/// needs the old values for it) and every reported row that exists now is indexed afresh. A
/// write whose savepoint rolled back may leave a row reported that did not change: removing
/// and re-adding its entry is harmless, because the capture is always what the index holds.
final class SQLiteSearchIndexing: Sendable {
    /// A row's text as the index holds it.
    private struct IndexedText: Sendable {
        let key: String
        let body: String
    }

    /// The rows reported in the current transaction.
    private struct Pending: Sendable {
        /// Every reported row id.
        var touched: Set<Int64> = []
        /// The index entry of each reported row that existed when the transaction began.
        var indexed: [Int64: IndexedText] = [:]
    }

    private let pending = Mutex(Pending())
    /// Transactions that wrote to the index since it last did merge work.
    private let flushesSinceMerge = Atomic(0)

    /// Every this many transactions that write to the index, the one committing does some of
    /// FTS5's merge work (``mergePages``).
    ///
    /// FTS5 writes each transaction's entries as a new segment and merges segments a little
    /// per write, in proportion to what was written: after many small writes (single puts) the
    /// merging lags and segments pile up, up to about 16 a level, and a search looks every word
    /// up in every segment. At 1,000 records, 400 single puts left 19 segments and a two-word
    /// `bm25()` search took 150 µs; merging 64 pages every 8 puts left 3 segments and 65 µs
    /// (`scripts/bench/fts_segments.py`). The price is the pages the merges write: more WAL,
    /// checkpoints sooner (BENCHMARKS.md, round five).
    static let mergeInterval = 8
    /// Pages of merge work (FTS5's `'merge'` command, positive: only levels that hold
    /// `usermerge` (4) segments or more are merged, so a compact index costs nothing).
    static let mergePages = 32

    /// Forgets what a previous transaction left (one that rolled back before ``flush(_:)``).
    func transactionBegan() {
        pending.withLock { $0 = Pending() }
    }

    /// Reports a row just inserted (it had no index entry unless reported before).
    func didInsert(id: Int64) {
        pending.withLock { _ = $0.touched.insert(id) }
    }

    /// Reports the row of `key` before an update or a delete changes it.
    func willChange(namespace: String, key: String, db: Database) throws {
        let statement = try db.cachedStatement(sql: "SELECT id, key, body FROM memory_records WHERE namespace = ? AND key = ?")
        if let row = try Row.fetchOne(statement, arguments: [namespace, key]) {
            capture(id: row[0], key: row[1], body: row[2])
        }
    }

    /// Reports the rows a `DELETE FROM memory_records WHERE <predicate>` is about to remove.
    func willDelete(where predicate: String, arguments: StatementArguments, db: Database) throws {
        let rows = try Row.fetchCursor(db, sql: "SELECT id, key, body FROM memory_records WHERE \(predicate)", arguments: arguments)
        while let row = try rows.next() { capture(id: row[0], key: row[1], body: row[2]) }
    }

    private func capture(id: Int64, key: String, body: String) {
        pending.withLock { pending in
            // Only the first report counts: later ones see this transaction's own writes.
            if pending.touched.insert(id).inserted {
                pending.indexed[id] = IndexedText(key: key, body: body)
            }
        }
    }

    /// Brings the index up to date with every reported row; called last in the transaction.
    func flush(_ db: Database) throws {
        let work = pending.withLock { pending -> Pending in
            defer { pending = Pending() }
            return pending
        }
        guard !work.touched.isEmpty else { return }
        if !work.indexed.isEmpty {
            let remove = try db.cachedStatement(sql: """
                INSERT INTO memory_fts (memory_fts, rowid, key, body) VALUES ('delete', ?, ?, ?)
                """)
            for (id, text) in work.indexed {
                try remove.execute(arguments: [id, text.key, text.body])
            }
        }
        // Reported rows that exist now, in runs of consecutive ids (a batch of new rows is one run).
        let index = try db.cachedStatement(sql: """
            INSERT INTO memory_fts (rowid, key, body) SELECT id, key, body FROM memory_records WHERE id BETWEEN ? AND ?
            """)
        for run in Self.runs(of: work.touched) {
            try index.execute(arguments: [run.lowerBound, run.upperBound])
        }
        if flushesSinceMerge.add(1, ordering: .relaxed).newValue >= Self.mergeInterval {
            flushesSinceMerge.store(0, ordering: .relaxed)
            // In a savepoint of its own: merge work that fails (a full disk) is rolled back and
            // left for a later transaction; it never fails the writes it rides with.
            try? db.inSavepoint {
                try db.cachedStatement(sql: "INSERT INTO memory_fts (memory_fts, rank) VALUES ('merge', ?)")
                    .execute(arguments: [Self.mergePages])
                return .commit
            }
        }
    }

    /// The segments of the full-text index: what each word of a search is looked up in (read
    /// from FTS5's structure record, row 10 of `memory_fts_data`: a 4-byte cookie, then varints
    /// for the levels and the segments; FTS5's `fts5_index.c`, "Structure Record").
    static func segmentCount(_ db: Database) throws -> Int {
        guard let block = try Data.fetchOne(db, sql: "SELECT block FROM memory_fts_data WHERE id = 10") else { return 0 }
        var offset = 4
        func varint() -> Int {
            // SQLite's varint: 7 bits a byte, high bit set on all but the last; a ninth byte gives 8.
            var value = 0
            for position in 0..<9 where offset < block.count {
                let byte = block[block.startIndex + offset]
                offset += 1
                if position == 8 { return value << 8 | Int(byte) }
                value = value << 7 | Int(byte & 0x7F)
                if byte & 0x80 == 0 { break }
            }
            return value
        }
        _ = varint()  // levels
        return varint()
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
