import AgentMemoryCore
import Foundation
import GRDB
import Logging

extension SQLiteMemoryStore {
    /// Rows a process writes after which the writing transaction also brings the full-text
    /// index up to date (``SQLiteSearchIndexing/catchUpThreshold``); for the benchmark.
    package static var searchIndexCatchUpRows: Int { SQLiteSearchIndexing.catchUpThreshold }

    /// Brings the full-text index up to date with every write committed so far (see
    /// ``SQLiteSearchIndexing``); for tests, maintenance and the benchmark, which times the
    /// indexing its write rows leave pending; searches do it themselves.
    package func catchUpSearchIndex() async throws {
        try checkOpen()
        do {
            try await catchUpIndex()
        } catch {
            throw MemoryError(.storage, "SQLite full-text catch-up failed (\(path)): \(Self.describe(error))")
        }
    }

    /// Merges the full-text index into one segment (FTS5's `optimize`), after bringing it up to
    /// date: maintenance for a store filled by many writes at once, such as a bulk import.
    /// Searches and their answers are the same before and after; they only get faster.
    ///
    /// FTS5 keeps an index written by many transactions as several segments, and a search
    /// looks each of its words up in every one: a million records written in batches of 1,000
    /// left 17, and merging them made limit-10 searches 5 to 17% faster (BENCHMARKS.md, round
    /// sixteen). A store left open merges on its own while its writes rest
    /// (``SQLiteIndexMerger``, the `idleIndexMerge:` argument); this merges at once. The merge
    /// rewrites the whole index in one transaction, holding the write lock throughout (1.6 s at
    /// a million records, and the index's size in the log): run it when writes can wait.
    /// Returns how many segments the index had before and has after.
    @discardableResult
    public func optimizeSearchIndex() async throws -> (before: Int, after: Int) {
        try checkOpen()
        let indexing = indexing
        do {
            // The catch-up and the merge in one transaction: no write can come between them.
            return try await pool.write { db in
                if try SQLiteSearchIndexing.hasPendingRows(db) { try indexing.catchUp(db) }
                let before = try SQLiteSearchIndexing.segmentCount(db)
                try db.execute(sql: "INSERT INTO memory_fts (memory_fts) VALUES ('optimize')")
                return (before, try SQLiteSearchIndexing.segmentCount(db))
            }
        } catch let error as MemoryError {
            throw error
        } catch {
            throw MemoryError(.storage, "SQLite full-text index merge failed (\(path)): \(Self.describe(error))")
        }
    }

    /// One catch-up (``SQLiteSearchIndexing/catchUp(_:)``) in a transaction of its own, through
    /// GRDB's writer: after any write transaction in progress, never inside one.
    ///
    /// It commits without waiting for the disk (`synchronous = NORMAL` for this transaction
    /// alone, on a FULL store): a catch-up lost to a power cut leaves its pending rows, and the
    /// next one redoes it. The next FULL commit's fsync of the WAL covers it too. SQLite allows
    /// the setting to change only outside a transaction, which is why it is a write without
    /// one: set, the transaction, set back, all in one turn on the writer.
    func catchUpIndex() async throws {
        let relaxed = synchronous == .full
        let catchUp = Self.catchUpBody(indexing: indexing, relaxed: relaxed)
        let body: @Sendable (Database) throws -> Void = { db in _ = try catchUp(db) }
        // As with writes: a store that does not wait for the disk stays on the calling thread.
        if relaxed {
            try await pool.writeWithoutTransaction(body)
        } else {
            try catchUpOnCallingThread(body)
        }
    }

    /// The catch-up as a write without a transaction (``catchUpIndex()``; the index merger runs
    /// it too, when the writes rest): nothing when no row is pending, else one immediate
    /// transaction, at `synchronous = NORMAL` when `relaxed`. Returns whether it indexed.
    static func catchUpBody(indexing: SQLiteSearchIndexing, relaxed: Bool) -> @Sendable (Database) throws -> Bool {
        { db in
            // Another search's catch-up may have come first: then no lock is taken.
            guard try SQLiteSearchIndexing.hasPendingRows(db) else { return false }
            if relaxed { try db.execute(sql: "PRAGMA synchronous = NORMAL") }
            let outcome = Result {
                try db.inTransaction(.immediate) {
                    try indexing.catchUp(db)
                    return .commit
                }
            }
            if relaxed {
                // The setting cannot change inside a transaction: should a failed one still be
                // open, it goes first, so that the writes after this never run at NORMAL.
                if db.isInsideTransaction { try? db.execute(sql: "ROLLBACK") }
                try db.execute(sql: "PRAGMA synchronous = FULL")
            }
            try outcome.get()
            return true
        }
    }

    /// GRDB's synchronous write (from a synchronous context, so the async overload is not chosen).
    private func catchUpOnCallingThread(_ body: (Database) throws -> Void) throws {
        try pool.writeWithoutTransaction(body)
    }

    /// The catch-up at ``close()``: a failure is logged, not thrown (the pending rows stay in the
    /// file, and whichever store opens it next catches up on them).
    func catchUpBeforeClosing() async {
        // Whether anything is pending, asked on this thread, on the writer's connection when the
        // pool is open, else on the point reader's: when nothing is (every process that only
        // read), no hop to GRDB's writer, which started two threads at each such process's exit,
        // and no pool opened for it. A write in progress, or a busy point reader, makes the
        // answer `nil`.
        let pending: Bool? = if let opened = connections.ifOpened {
            (try? opened.writer.readIfIdle({ db in try SQLiteSearchIndexing.hasPendingRows(db) })) ?? nil
        } else {
            pointReader?.hasPendingIndexRows()
        }
        if pending == false { return }
        do {
            try await catchUpIndex()
        } catch {
            logger.warning(
                "the full-text index did not catch up before closing; the next store to open the file will",
                metadata: ["path": "\(path)", "error": "\(Self.describe(error))"])
        }
    }
}
