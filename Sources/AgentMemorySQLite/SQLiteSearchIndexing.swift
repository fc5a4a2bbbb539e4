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
