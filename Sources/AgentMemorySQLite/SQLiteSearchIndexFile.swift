import AgentMemoryCore
import Dispatch
import Foundation
import GRDB
import GRDBSQLite
import Synchronization

/// The full-text index in a file of its own beside the records (`PATH-search`), brought up to
/// date by passes (``catchUp()``) on a connection of its own, off the records' write lock.
///
/// Why a second file: SQLite has one write lock per file. With the index in the records' file,
/// indexing a burst of writes (FTS5's tokenizing and segment writing, half a batch's time) ran
/// under that lock, so writers waited for it, while the machine's second core had nothing to
/// do. Here the records' writers only note what changed (``SQLiteSearchIndexing``), and a pass
/// indexes it under the index file's lock alone, in the background or before a search.
///
/// **The connection.** `main` is the index file; the records' file is attached as `records`
/// for reading. A pass's transaction is deferred and writes the index first, so it takes the
/// index's write lock and never the records' (`BEGIN IMMEDIATE` would take the write lock of
/// every attached file). Its reads of the records then come from one snapshot.
///
/// **What the index holds.** `memory_fts` is a contentless FTS5 table (FTS5's external content
/// must live in the index's own database; searches rank row ids and read the records' texts
/// from the records). `memory_fts_state` holds, in one row, the records' stamp the index
/// belongs to, `mark` (the highest note of the records' `memory_fts_notes` it has applied) and
/// `through` (the highest record id in the snapshot of its last pass). The index holds exactly
/// the records of that snapshot: a record with a note past `mark` is held with the text of its
/// first such note (the text it had before its first change since), unless its id is above
/// `through` or that note is marked "not held" (then it was not held); any other record at or below `through` is held as it is;
/// records above `through` are not held. A pass applies that rule and moves `mark` and
/// `through` to its own snapshot.
///
/// **Why notes are enough.** Writers note every change to a record that existed when their
/// transaction began, with its text then, numbered in commit order (SQLite's write lock orders
/// the transactions). New records need no note: writers number them above the highest id of
/// any record or note, and `through` is the id of a record that still exists or has a note past
/// the mark (it was changed or deleted since), so a new record is above `through`. Only at the
/// top of the id range does SQLite pick a new record's id, anywhere below; such a record gets a
/// note marked "not held" (``SQLiteSearchIndexing/notHeld``): indexed, nothing removed. Writers
/// delete the notes below the mark this process's passes committed, keeping the one at the
/// mark, so that numbers never go back.
///
/// **When the index is rebuilt** (every record indexed again, in one pass): when it has no
/// state (a new file), when its stamp is not the records' (a file of another store, or of the
/// records before a restore), when it is behind notes that were deleted (its last passes lost
/// to a power cut: its commits do not wait for the disk, it is derived data), or when it is
/// ahead of the records (the records restored from a backup).
final class SQLiteSearchIndexFile: Sendable {
    /// Where the index of the records at `path` lives.
    static func path(forRecordsAt path: String) -> String { path + "-search" }

    /// The index file.
    let path: String
    /// The records' file.
    private let recordsPath: String
    private let busyTimeout: Duration
    private let memoryMapSize: Int
    /// The index file's connection, with the records attached: opened at the first pass (a
    /// process that only reads never opens it, unless a search finds writes to apply).
    private let connection = Locked<DatabaseQueue?>(nil)

    /// Whether the connection was ever opened (for tests: a close that did not look at the
    /// index leaves it unopened).
    var wasConnected: Bool { connection.withLock { $0 != nil } }
    /// The records' write path, told the highest note each pass applied.
    private let indexing: SQLiteSearchIndexing
    /// Passes that changed the index, and rebuilds among them (for tests).
    let passes = Atomic(0)
    let rebuilds = Atomic(0)
    /// Background passes requested and run (for tests).
    let backgroundPasses = Atomic(0)
    /// Notes below the mark of this process's last pass, as that pass found them (for
    /// ``notesToDelete``).
    private let appliedNotes = Atomic<Int64>(0)

    private struct Background {
        var requested = false
        var running = false
        var closed = false
    }

    private let background = Locked(Background())
    private let backgroundQueue = DispatchQueue(label: "AgentMemory.sqlite.index", qos: .utility)
    /// Passes since the index last did merge work.
    private let passesSinceMerge = Atomic(0)
    /// Called at the start of each pass's transaction (for tests).
    let beforePass = Locked<(@Sendable () -> Void)?>(nil)

    /// The index file of the records at `recordsPath`; created now, with its tables, when it
    /// does not exist (readers attach it), else opened at the first pass.
    init(recordsPath: String, busyTimeout: Duration, memoryMapSize: Int, indexing: SQLiteSearchIndexing) throws {
        path = Self.path(forRecordsAt: recordsPath)
        self.recordsPath = recordsPath
        self.busyTimeout = busyTimeout
        self.memoryMapSize = memoryMapSize
        self.indexing = indexing
        if access(path, F_OK) != 0 { _ = try queue }
    }

    /// The index file's connection, opened (and the file and its tables created) now if it
    /// was not.
    var queue: DatabaseQueue {
        get throws {
            try connection.withLock { connection in
                if let connection { return connection }
                var configuration = Configuration()
                configuration.busyMode = .timeout(SQLiteMemoryStore.seconds(busyTimeout))
                configuration.label = "AgentMemory.search"
                configuration.foreignKeysEnabled = false  // as the records' connections (``Database/run(_:)``)
                let (recordsPath, memoryMapSize) = (self.recordsPath, self.memoryMapSize)
                configuration.prepareDatabase { db in
                    try SQLiteIndexedBody.register(db)
                    try db.makeStatement(sql: "ATTACH DATABASE ? AS records").execute(arguments: [recordsPath])
                    try db.run("PRAGMA main.mmap_size = \(memoryMapSize); PRAGMA records.mmap_size = \(memoryMapSize)")
                }
                // Retried while another process creates the file at the same moment: setting WAL
                // mode does not always wait on SQLite's busy handler (as the records' open).
                let deadline = ContinuousClock.now + busyTimeout
                while true {
                    let queue = try DatabaseQueue(path: path, configuration: configuration)
                    do {
                        try queue.writeWithoutTransaction { db in try Self.createSchema(db) }
                        connection = queue
                        return queue
                    } catch let error as DatabaseError
                        where (error.resultCode == .SQLITE_BUSY || error.resultCode == .SQLITE_LOCKED) && ContinuousClock.now < deadline {
                        try? queue.close()
                        usleep(UInt32.random(in: 5_000...25_000))
                    } catch {
                        try? queue.close()
                        throw error
                    }
                }
            }
        }
    }

    /// How many notes this process's last pass left below its mark, for the writers to delete
    /// (an estimate: note numbers are consecutive but for those rolled back).
    var notesToDelete: Int64 { appliedNotes.load(ordering: .relaxed) }

    /// The index's tables, created in one transaction when missing; WAL, and commits that do
    /// not wait for the disk (the index is derived: a pass lost to a power cut is redone, or
    /// the index rebuilt).
    private static func createSchema(_ db: Database) throws {
        if try String.fetchOne(db, sql: "PRAGMA main.journal_mode") != "wal" {
            try db.execute(sql: "PRAGMA main.journal_mode = WAL")
        }
        try db.execute(sql: "PRAGMA main.synchronous = NORMAL")
        let existing = try Int.fetchOne(db, sql: """
            SELECT COUNT(*) FROM main.sqlite_master WHERE name IN ('memory_fts', 'memory_fts_state')
            """) ?? 0
        guard existing < 2 else { return }
        try db.inTransaction(.deferred) {
            try db.execute(sql: """
                CREATE TABLE IF NOT EXISTS main.memory_fts_state (
                    id INTEGER PRIMARY KEY CHECK (id = 1),
                    stamp TEXT NOT NULL,
                    mark INTEGER NOT NULL,
                    through INTEGER NOT NULL
                )
                """)
            if try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM main.sqlite_master WHERE name = 'memory_fts'") == 0 {
                try db.execute(sql: """
                    CREATE VIRTUAL TABLE main.memory_fts USING fts5(
                        key, body, content = '', tokenize = 'porter unicode61'
                    );
                    INSERT INTO main.memory_fts (memory_fts, rank) VALUES ('automerge', 8);
                    """)
            }
            return .commit
        }
    }

    /// The index's state and the records' in one pair of snapshots.
    struct Positions: Equatable {
        var stamp: String?
        var mark: Int64
        var through: Int64
    }

    /// Where a connection's snapshot of the index stands against its snapshot of the records.
    enum Standing: Equatable {
        /// The index holds exactly the records' snapshot.
        case current
        /// The records hold writes the index has not applied (or the index must be rebuilt).
        case behind
        /// The index holds writes the records' snapshot does not (its pass read a newer one).
        case ahead
    }

    /// The index's state (`schema`: `main` on the index's connection, `search` on a reader).
    static func indexPositions(_ db: Database, schema: String) throws -> Positions? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT stamp, mark, through FROM \(schema).memory_fts_state WHERE id = 1")).map {
            Positions(stamp: $0[0], mark: $0[1], through: $0[2])
        }
    }

    /// The records' stamp, their newest note and highest id (`schema`: `records` on the index's
    /// connection, `main` on a reader).
    static func recordPositions(_ db: Database, schema: String) throws -> (positions: Positions, oldestNote: Int64) {
        let row = try Row.fetchOne(db.cachedStatement(sql: """
            SELECT (SELECT stamp FROM \(schema).memory_search_stamp),
                COALESCE((SELECT MAX(seq) FROM \(schema).memory_fts_notes), 0),
                COALESCE((SELECT MAX(id) FROM \(schema).memory_records), 0),
                COALESCE((SELECT MIN(seq) FROM \(schema).memory_fts_notes), 0)
            """))!
        return (Positions(stamp: row[0], mark: row[1], through: row[2]), row[3])
    }

    /// Where `index` stands against `records` (see ``Standing``).
    static func standing(index: Positions?, records: Positions) -> Standing {
        guard let index, index.stamp == records.stamp else { return .behind }
        if index.mark > records.mark || (index.mark == records.mark && index.through > records.through) { return .ahead }
        return index.mark < records.mark || index.through < records.through ? .behind : .current
    }

    /// Where the index stands on a reader connection with the index attached as `search`. The
    /// two files' snapshots begin at their first reads in the transaction, so a pass that
    /// commits between them can show the index ``Standing/ahead``; a search hands that to a
    /// pass, which reads the index first and tells it from records restored from an older copy.
    static func standingOnReader(_ db: Database) throws -> Standing {
        let index: Positions?
        do {
            index = try indexPositions(db, schema: "search")
        } catch let error as DatabaseError where error.resultCode == .SQLITE_ERROR {
            // No index attached, or a file without its tables yet (a process stopped between
            // creating it and its first transaction): the pass creates them.
            return .behind
        }
        return standing(index: index, records: try recordPositions(db, schema: "main").positions)
    }

    /// One pass: brings the index up to date with every write committed to the records before
    /// it began (see the type's documentation). Returns whether it changed the index.
    @discardableResult
    func catchUp() throws -> Bool {
        try queue.writeWithoutTransaction { db in try pass(db) }
    }

    /// ``catchUp()`` from an async context, without holding a cooperative thread.
    @discardableResult
    func catchUpAsync() async throws -> Bool {
        try await queue.writeWithoutTransaction { db in try self.pass(db) }
    }

    private func pass(_ db: Database) throws -> Bool {
        // Nothing to do is found without a write.
        let quick = Self.standing(
            index: try Self.indexPositions(db, schema: "main"), records: try Self.recordPositions(db, schema: "records").positions)
        guard quick != .current else { return false }
        var applied: Int64?
        try db.inTransaction(.deferred) {
            beforePass.withLock { $0 }?()
            // The index's write lock first (an update that matches nothing still takes it),
            // then the records' snapshot, read once: the index cannot be ahead of it.
            try db.execute(sql: "UPDATE main.memory_fts_state SET mark = mark WHERE id = 0")
            indexing.passBegan()
            let index = try Self.indexPositions(db, schema: "main")
            let (records, oldestNote) = try Self.recordPositions(db, schema: "records")
            switch Self.standing(index: index, records: records) {
            case .current:
                return .rollback
            case .behind where index.map({ $0.stamp == records.stamp && $0.mark >= oldestNote - 1 }) ?? false:
                try apply(db, index: index!, records: records)
            case .behind, .ahead:
                // No state, another store's stamp, notes deleted past the index's mark, or an
                // index ahead of the records (restored from a backup): indexed again.
                try rebuild(db, records: records)
            }
            applied = records.mark
            appliedNotes.store(records.mark - min(oldestNote, records.mark), ordering: .relaxed)
            return .commit
        }
        guard let applied else { return false }
        passes.add(1, ordering: .relaxed)
        indexing.appliedMark.store(applied, ordering: .relaxed)
        return true
    }

    /// Every record indexed again.
    private func rebuild(_ db: Database, records: Positions) throws {
        try db.execute(sql: "INSERT INTO main.memory_fts (memory_fts) VALUES ('delete-all')")
        try db.execute(sql: "INSERT INTO main.memory_fts (rowid, key, body) \(Self.selectRows)")
        try db.execute(
            sql: "INSERT OR REPLACE INTO main.memory_fts_state (id, stamp, mark, through) VALUES (1, ?, ?, ?)",
            arguments: [records.stamp ?? "", records.mark, records.through])
        rebuilds.add(1, ordering: .relaxed)
    }

    /// The notes past the index's mark and the records above its `through` applied.
    private func apply(_ db: Database, index: Positions, records: Positions) throws {
        // Each noted record's first note past the mark: the text the index holds for it.
        var first: [Int64: (key: String, body: String)] = [:]
        var ids: [Int64] = []
        let notes = try Row.fetchCursor(
            db, sql: "SELECT id, key, body FROM records.memory_fts_notes WHERE seq > ? AND seq <= ? ORDER BY seq",
            arguments: [index.mark, records.mark])
        while let note = try notes.next() {
            let id: Int64 = note[0]
            if first[id] == nil {
                first[id] = (note[1], note[2])
                ids.append(id)
            }
        }
        let delete = try db.cachedStatement(sql: "INSERT INTO main.memory_fts (memory_fts, rowid, key, body) VALUES ('delete', ?, ?, ?)")
        for id in ids where id <= index.through {
            let text = first[id]!
            if text.key == SQLiteSearchIndexing.notHeld { continue }
            try delete.execute(arguments: [id, text.key, text.body])
        }
        let noted = "[" + ids.map(String.init).joined(separator: ",") + "]"
        if !ids.isEmpty {
            try db.execute(
                sql: "INSERT INTO main.memory_fts (rowid, key, body) \(Self.selectRows) WHERE id IN (SELECT value FROM json_each(?))",
                arguments: [noted])
        }
        try db.execute(
            sql: """
                INSERT INTO main.memory_fts (rowid, key, body) \(Self.selectRows)
                WHERE id > ? AND id NOT IN (SELECT value FROM json_each(?))
                """,
            arguments: [index.through, noted])
        try db.execute(
            sql: "UPDATE main.memory_fts_state SET mark = ?, through = ? WHERE id = 1", arguments: [records.mark, records.through])
        if passesSinceMerge.add(1, ordering: .relaxed).newValue >= SQLiteSearchIndexing.mergeInterval {
            passesSinceMerge.store(0, ordering: .relaxed)
            // In a savepoint of its own: merge work that fails (a full disk) is rolled back and
            // left for a later pass; it never fails the pass it rides with.
            try? db.inSavepoint {
                try db.execute(sql: "INSERT INTO main.memory_fts (memory_fts, rank) VALUES ('merge', ?)", arguments: [SQLiteSearchIndexing.mergePages])
                return .commit
            }
        }
    }

    /// The records' ids, keys and indexed texts (a `WHERE` clause follows), as the notes hold them.
    private static let selectRows = "SELECT id, key, \(SQLiteIndexedBody.rowText) FROM records.memory_records"

    /// Asks for a pass in the background, on a queue of its own; passes asked for while one
    /// runs are done by one more pass after it.
    func requestBackgroundPass() {
        let start = background.withLock { state -> Bool in
            guard !state.closed else { return false }
            state.requested = true
            guard !state.running else { return false }
            state.running = true
            return true
        }
        guard start else { return }
        backgroundQueue.async { [self] in
            while background.withLock({ state -> Bool in
                guard state.requested, !state.closed else {
                    state.running = false
                    return false
                }
                state.requested = false
                return true
            }) {
                backgroundPasses.add(1, ordering: .relaxed)
                // A failure (a full disk, another process holding the lock past the busy
                // timeout) is left to the next pass: searches run one too.
                _ = try? catchUp()
            }
        }
    }

    /// Returns once the background passes asked for so far have run (without blocking a
    /// thread: a block queued behind them).
    func waitForBackground() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            backgroundQueue.async { continuation.resume() }
        }
    }

    /// Waits for a background pass in progress and stops new ones.
    func stopBackground() {
        background.withLock { $0.closed = true }
        backgroundQueue.sync {}
    }

    /// Closes the connection, if it was opened; else deletes the log the readers left (see
    /// ``deleteReadersLog(at:)``). Runs after the records' readers have closed.
    func close() throws {
        stopBackground()
        if let queue = connection.withLock({ $0 }) {
            try queue.close()
        } else {
            Self.deleteReadersLog(at: path)
        }
    }

    /// Deletes the `-wal` and `-shm` of the index file at `path` when no other connection uses
    /// them, by opening a connection that can write and closing it.
    ///
    /// Readers attach the index read-only, and the last connection to close a file deletes its
    /// log only if it can write: a process whose readers alone opened the index (a search that
    /// found it current, a listing) would leave both files behind, as the records' readers did
    /// before their writer closed last (RELIABILITY.md, defect 10). A log frame left behind
    /// would be laid over an index copied back alone. A read opens the log; the close then
    /// checkpoints it (nothing to copy) and deletes both, unless another process has the file
    /// open (the exclusive lock it needs for that is not taken; nothing waits).
    static func deleteReadersLog(at path: String) {
        guard access(path + "-wal", F_OK) == 0 || access(path + "-shm", F_OK) == 0 else { return }
        var db: OpaquePointer?
        defer { sqlite3_close(db) }
        guard sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, nil) == SQLITE_OK else { return }
        _ = sqlite3_exec(db, "SELECT 1 FROM sqlite_master LIMIT 1", nil, nil, nil)
    }
}
