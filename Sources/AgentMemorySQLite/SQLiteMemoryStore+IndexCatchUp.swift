import AgentMemoryCore
import Foundation
import GRDB
import Logging

extension SQLiteMemoryStore {
    /// Brings the full-text index up to date with every write committed so far (see
    /// ``SQLiteSearchIndexing``); for tests and maintenance, searches do it themselves.
    func catchUpSearchIndex() async throws {
        try checkOpen()
        do {
            try await catchUpIndex()
        } catch {
            throw MemoryError(.storage, "SQLite full-text catch-up failed (\(path)): \(Self.describe(error))")
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
        let indexing = indexing
        let relaxed = synchronous == .full
        let body: @Sendable (Database) throws -> Void = { db in
            // Another search's catch-up may have come first: then no lock is taken.
            guard try SQLiteSearchIndexing.hasPendingRows(db) else { return }
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
        }
        // As with writes: a store that does not wait for the disk stays on the calling thread.
        if relaxed {
            try await pool.writeWithoutTransaction(body)
        } else {
            try catchUpOnCallingThread(body)
        }
    }

    /// GRDB's synchronous write (from a synchronous context, so the async overload is not chosen).
    private func catchUpOnCallingThread(_ body: (Database) throws -> Void) throws {
        try pool.writeWithoutTransaction(body)
    }

    /// The catch-up at ``close()``: a failure is logged, not thrown (the pending rows stay in the
    /// file, and whichever store opens it next catches up on them).
    func catchUpBeforeClosing() async {
        do {
            try await catchUpIndex()
        } catch {
            logger.warning(
                "the full-text index did not catch up before closing; the next store to open the file will",
                metadata: ["path": "\(path)", "error": "\(Self.describe(error))"])
        }
    }
}
