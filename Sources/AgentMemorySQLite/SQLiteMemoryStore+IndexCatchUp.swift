import AgentMemoryCore
import Foundation
import GRDB
import Logging
import Synchronization

extension SQLiteMemoryStore {
    /// Rows a process writes after which a commit asks for a pass of the full-text index in
    /// the background (``SQLiteSearchIndexing/catchUpThreshold``); for the benchmark.
    package static var searchIndexCatchUpRows: Int { SQLiteSearchIndexing.catchUpThreshold }

    /// Brings the full-text index up to date with every write committed so far (see
    /// ``SQLiteSearchIndexFile``); for tests, maintenance and the benchmark, which times the
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
    /// rewrites the whole index in one transaction of the index's file (1.6 s at a million
    /// records, and the index's size in its log); writes to the records go on meanwhile, and
    /// searches wait for it. Returns how many segments the index had before and has after.
    @discardableResult
    public func optimizeSearchIndex() async throws -> (before: Int, after: Int) {
        try checkOpen()
        do {
            let index = try connections.opened().index
            try await index.catchUpAsync()
            return try await index.queue.writeWithoutTransaction { db in
                var counts = (before: 0, after: 0)
                // Deferred, a write first: the index's lock alone, never the attached records'.
                try db.inTransaction(.deferred) {
                    counts.before = try SQLiteSearchIndexing.segmentCount(db)
                    try db.execute(sql: "INSERT INTO main.memory_fts (memory_fts) VALUES ('optimize')")
                    counts.after = try SQLiteSearchIndexing.segmentCount(db)
                    return .commit
                }
                return counts
            }
        } catch let error as MemoryError {
            throw error
        } catch {
            throw MemoryError(.storage, "SQLite full-text index merge failed (\(path)): \(Self.describe(error))")
        }
    }

    /// Returns once the full-text index's background passes asked for so far have run; for the
    /// benchmark, which times them as the work of the writes that asked for them.
    package func waitForBackgroundIndexing() async {
        await connections.ifOpened?.index.waitForBackground()
    }

    /// One pass of the full-text index (``SQLiteSearchIndexFile/catchUp()``), on the index
    /// file's connection: after a pass in progress, never inside one.
    func catchUpIndex() async throws {
        try await connections.opened().index.catchUpAsync()
    }

    /// The pass at ``close()``, when this process wrote, looks at the index (as the last
    /// paragraph says) and finds it behind the records by
    /// ``SQLiteSearchIndexing/catchUpThreshold`` rows or more (``closingStanding(_:)``);
    /// otherwise the rows are left to whichever pass comes next: a search's (which catches up
    /// before it ranks, so it still finds every committed write), a background pass of a store
    /// that keeps writing, or the close of a process that leaves the backlog at the threshold.
    /// The index's work is the same, done once for many processes' writes (larger passes index
    /// for less a row), and a process that writes and exits spares it: the pass was 28% of an
    /// `exec` of 2,000 `remember` calls (BENCHMARKS.md, round forty-two). A search after such
    /// processes waits for at most about that many rows' indexing (and the 256 or so of the
    /// look's sampling below) per process writing at the same time (4,096 rows: 14 to 18 ms
    /// here).
    ///
    /// A failure is logged, not thrown: the notes stay in the file, and whichever store opens
    /// it next applies them.
    ///
    /// Writers delete the notes a pass of their process applied, in their next transaction; a
    /// process that writes and closes, and the searches whose passes apply its notes, delete
    /// none. So when ``notesLeftForClose`` notes or more lie below the index's mark (applied by
    /// a pass of this process, or of any other as the close reads it), the close deletes them
    /// in a transaction of its own, keeping the one at the mark: without it, a file written by
    /// short processes and searched by others kept every note, the old text of every update.
    ///
    /// The look itself (the index file's connection opened, its `-wal` and `-shm` made and
    /// deleted) was a quarter of a `remember` process. So a closing store looks only when its
    /// own rows carry the records' positions across a multiple of ``closeLookStride``
    /// (``closeLooksAtIndex(positions:written:)``): every process that writes that many rows or
    /// more, and about one in 256 of those that write one. A backlog past the threshold is
    /// then seen within about 256 more rows' writes, by whichever process crosses the next
    /// multiple (BENCHMARKS.md, round forty-seven).
    func catchUpBeforeClosing() async {
        guard let opened = connections.ifOpened, opened.writer.commits.load(ordering: .relaxed) > 0 else { return }
        opened.index.stopBackground()
        do {
            let written = indexing.written.load(ordering: .relaxed)
            if written < Self.closeLookStride {
                let positions = try await opened.database.writeWithoutTransaction { db in
                    try SQLiteSearchIndexFile.recordPositions(db, schema: "main").positions
                }
                guard Self.closeLooksAtIndex(positions: positions, written: written) else { return }
            }
            let found = try await closingStanding(opened)
            var notesBelowMark = found.indexMark.map { $0 - found.oldestNote } ?? 0
            if found.backlog >= SQLiteSearchIndexing.catchUpThreshold {
                try opened.index.catchUp()
                notesBelowMark = opened.index.notesToDelete
            } else if let mark = found.indexMark {
                indexing.indexApplied(through: mark)
            }
            if indexing.hasAppliedNotesToDelete, notesBelowMark >= Self.notesLeftForClose {
                // An empty write: its commit hook deletes the applied notes.
                _ = try await opened.writer.write { _ in () }
            }
        } catch {
            logger.warning(
                "the full-text index did not catch up before closing; the next store to open the file will",
                metadata: ["path": "\(path)", "error": "\(Self.describe(error))"])
        }
    }

    /// Rows of a closing store's own writes after which its close always looks at the index;
    /// fewer look when they cross a multiple of it (``closeLooksAtIndex(positions:written:)``).
    static let closeLookStride = 256

    /// Whether a closing store that wrote `written` rows looks at the full-text index, the
    /// records standing at `positions` (read on its writer's connection): when the records'
    /// highest id plus their highest note crosses a multiple of ``closeLookStride`` between
    /// `written` rows below that sum and the sum. Each row a process writes moves the sum up by
    /// one or more (a new record's id, an update's or a delete's note), so about one close in
    /// 256 of one-row processes looks, whichever order many such processes close in.
    static func closeLooksAtIndex(positions: SQLiteSearchIndexFile.Positions, written: Int) -> Bool {
        guard written < closeLookStride else { return true }
        // Unsigned: the sum of two ids up to `Int64.max` fits (ids at the top of the range).
        let stride = UInt64(closeLookStride)
        let end = UInt64(max(0, positions.through)) + UInt64(max(0, positions.mark))
        let start = end - min(end, UInt64(max(0, written)))
        return end / stride != start / stride
    }

    /// What a closing store reads of the full-text index against the records.
    private struct ClosingStanding {
        /// How far the index is behind the records, in rows: the records above its `through`
        /// and the notes past its mark (an estimate: ids deleted since count, a row noted twice
        /// counts twice), every record's id when it was never built (no state yet: a new
        /// store's); `Int.max` when it must be rebuilt (no index file, another store's stamp,
        /// or ahead of the records), which the close then does.
        var backlog: Int
        /// The index's mark, when it holds the records' notes up to it (same stamp, not ahead).
        var indexMark: Int64?
        /// The oldest note the records keep (0 when none).
        var oldestNote: Int64 = 0
    }

    /// One read on the index file's connection, which has the records attached (see
    /// ``ClosingStanding``): the connection a pass would take anyway, where a read on the
    /// readers opened GRDB's read-only pool (two connections) in a process that had not read,
    /// for this alone.
    private func closingStanding(_ opened: SQLitePoolConnections.Opened) async throws -> ClosingStanding {
        try await opened.index.queue.read { db in
            let index: SQLiteSearchIndexFile.Positions?
            do {
                index = try SQLiteSearchIndexFile.indexPositions(db, schema: "main")
            } catch let error as DatabaseError where error.resultCode == .SQLITE_ERROR {
                // A file without its tables.
                return ClosingStanding(backlog: Int.max)
            }
            let (records, oldestNote) = try SQLiteSearchIndexFile.recordPositions(db, schema: "records")
            guard let index else { return ClosingStanding(backlog: Int(records.through)) }
            switch SQLiteSearchIndexFile.standing(index: index, records: records) {
            case .current:
                return ClosingStanding(backlog: 0, indexMark: index.mark, oldestNote: oldestNote)
            case .behind where index.stamp == records.stamp:
                // `through` falls when the highest records are deleted (their notes count).
                let backlog = Int(max(0, records.through - index.through)) + Int(records.mark - index.mark)
                return ClosingStanding(backlog: backlog, indexMark: index.mark, oldestNote: oldestNote)
            case .behind, .ahead:
                return ClosingStanding(backlog: Int.max)
            }
        }
    }

    /// Applied notes below which a closing store leaves them to later writes.
    static let notesLeftForClose: Int64 = 256

    /// How the full-text index file beside the records at `path` differs from an index built
    /// afresh from those records, or `nil` when it holds exactly their texts and is current
    /// with them: FTS5's integrity check, the index's state against the records' stamp and
    /// notes, then every token instance (term, row, column, offset: `fts5vocab`) and every row's
    /// length compared. For tests and checks of a file no store has open; it writes nothing to
    /// either file (the fresh index is a temporary table).
    package static func searchIndexDifferences(recordsAt path: String) throws -> String? {
        let indexPath = SQLiteSearchIndexFile.path(forRecordsAt: path)
        guard access(indexPath, F_OK) == 0 else { return "there is no index file at \(indexPath)" }
        let queue = try DatabaseQueue(path: indexPath)
        defer { try? queue.close() }
        return try queue.writeWithoutTransaction { db -> String? in
            try SQLiteIndexedBody.register(db)
            try db.execute(sql: "ATTACH DATABASE ? AS records", arguments: [path])
            try db.execute(sql: "INSERT INTO main.memory_fts (memory_fts, rank) VALUES ('integrity-check', 0)")
            let index = try SQLiteSearchIndexFile.indexPositions(db, schema: "main")
            let records = try SQLiteSearchIndexFile.recordPositions(db, schema: "records").positions
            guard SQLiteSearchIndexFile.standing(index: index, records: records) == .current else {
                return "the index is not current: \(index.map { "\($0)" } ?? "no state") against \(records)"
            }
            try db.execute(sql: """
                CREATE VIRTUAL TABLE temp.reference USING fts5(key, body, content = '', tokenize = 'porter unicode61');
                INSERT INTO temp.reference (rowid, key, body) SELECT id, key, \(SQLiteIndexedBody.rowText) FROM records.memory_records;
                CREATE VIRTUAL TABLE temp.held USING fts5vocab(main, memory_fts, instance);
                CREATE VIRTUAL TABLE temp.expected USING fts5vocab(temp, reference, instance);
                """)
            let differences = try Int.fetchOne(db, sql: """
                SELECT (SELECT count(*) FROM (SELECT * FROM temp.held EXCEPT SELECT * FROM temp.expected))
                    + (SELECT count(*) FROM (SELECT * FROM temp.expected EXCEPT SELECT * FROM temp.held))
                    + (SELECT count(*) FROM (SELECT id, sz FROM main.memory_fts_docsize EXCEPT SELECT id, sz FROM temp.reference_docsize))
                    + (SELECT count(*) FROM (SELECT id, sz FROM temp.reference_docsize EXCEPT SELECT id, sz FROM main.memory_fts_docsize))
                """) ?? -1
            return differences == 0 ? nil : "the index differs from the records in \(differences) entries"
        }
    }

    /// The records at `path` the full-text index beside them has not applied (those with a
    /// note past its mark, and those above its `through` without one; every record when there
    /// is no index file, or it has no state yet), and the rows the index holds (FTS5 keeps one
    /// `_docsize` row per indexed row). For tests and checks; it writes nothing.
    package static func searchIndexBacklog(recordsAt path: String) throws -> (pending: Int, indexed: Int) {
        let queue = try DatabaseQueue(path: path)
        defer { try? queue.close() }
        return try queue.writeWithoutTransaction { db in
            let indexPath = SQLiteSearchIndexFile.path(forRecordsAt: path)
            var index: SQLiteSearchIndexFile.Positions?
            var indexed = 0
            if access(indexPath, F_OK) == 0 {
                try db.execute(sql: "ATTACH DATABASE ? AS search", arguments: [indexPath])
                if try db.tableExists("memory_fts_state", in: "search") {
                    index = try SQLiteSearchIndexFile.indexPositions(db, schema: "search")
                    indexed = try Int.fetchOne(db, sql: "SELECT count(*) FROM search.memory_fts_docsize") ?? -1
                }
            }
            guard let index else { return (try Int.fetchOne(db, sql: "SELECT count(*) FROM memory_records") ?? -1, indexed) }
            let pending = try Int.fetchOne(db, sql: """
                SELECT (SELECT count(DISTINCT id) FROM memory_fts_notes WHERE seq > ?1)
                    + (SELECT count(*) FROM memory_records
                       WHERE id > ?2 AND id NOT IN (SELECT id FROM memory_fts_notes WHERE seq > ?1))
                """, arguments: [index.mark, index.through]) ?? -1
            return (pending, indexed)
        }
    }
}
