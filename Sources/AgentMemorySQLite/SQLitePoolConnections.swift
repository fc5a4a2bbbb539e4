import AgentMemoryCore
import Foundation
import GRDB

/// GRDB's pool of connections and what runs on it (the group-commit writer, the index merger),
/// opened when the store first needs them.
///
/// A store opened on a file that is already created and migrated, and whose point reader can
/// read it (``SQLitePointReader/openForReads()``), leaves this closed until a write, a search,
/// a listing or a read the point reader cannot take: a process that only reads keys (an
/// `agent-memory recall`, an `exec` of `recall` calls) never pays for GRDB's pool. Opening it
/// cost about 4.8M instructions, two thirds of them Foundation's first lookups of the types
/// behind the `-wal` file's size in GRDB's WAL set-up, 7% of an `exec` of 2,000 recalls
/// (BENCHMARKS.md, round thirty). Any other store opens it at once, as before.
final class SQLitePoolConnections: Sendable {
    /// The pool and the objects built over it.
    struct Opened: Sendable {
        let pool: DatabasePool
        let writer: GroupCommitWriter
        /// The full-text index's file and its connection.
        let index: SQLiteSearchIndexFile
        let indexMerger: SQLiteIndexMerger?
    }

    private enum State {
        case notOpened
        case open(Opened)
        /// Closed; what was open is kept until this object goes (freeing GRDB's pool
        /// unregisters it from Foundation's `NotificationCenter`, 1.3M instructions of the
        /// runtime's type lookups at the first use, which a process that exits can spare: the
        /// CLI keeps its store until it exits).
        case closed(Opened?)
    }

    private let state = Locked(State.notOpened)
    private let path: String
    private let open: @Sendable () throws -> Opened

    /// Connections to the file at `path` that `open` makes at the first ``opened()``; `open`'s
    /// errors are thrown there.
    init(path: String, open: @escaping @Sendable () throws -> Opened) {
        self.path = path
        self.open = open
    }

    /// The pool and its writer, opened now if they were not (under a lock: a task that asks
    /// meanwhile waits for the same opening). A failed opening leaves them closed, to be tried
    /// again at the next call; after ``close()`` this throws `unavailable`.
    func opened() throws -> Opened {
        try state.withLock { state in
            switch state {
            case .open(let opened):
                return opened
            case .closed:
                throw MemoryError(.unavailable, "The SQLite store at \(path) is closed")
            case .notOpened:
                let opened = try open()
                state = .open(opened)
                return opened
            }
        }
    }

    /// The pool and its writer when they are open; never opens them.
    var ifOpened: Opened? {
        state.withLock { state in
            if case .open(let opened) = state { return opened }
            return nil
        }
    }

    /// Marks the connections closed (later ``opened()`` calls throw) and returns them when they
    /// were open, for the caller to close.
    func close() -> Opened? {
        state.withLock { state in
            switch state {
            case .open(let opened):
                state = .closed(opened)
                return opened
            case .notOpened:
                state = .closed(nil)
                return nil
            case .closed:
                return nil
            }
        }
    }
}

extension SQLiteMemoryStore {
    /// Creates the file's directory, opens GRDB's pool (see ``openPool(path:synchronous:busyTimeout:memoryMapSize:)``)
    /// and builds the writer and the index merger over it.
    static func openConnections(
        path: String, synchronous: Synchronous, busyTimeout: Duration, memoryMapSize: Int, idleIndexMerge: Duration?,
        checkpointer: SQLiteCheckpointer, indexing: SQLiteSearchIndexing
    ) throws -> SQLitePoolConnections.Opened {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        let pool = try openPool(path: path, synchronous: synchronous, busyTimeout: busyTimeout, memoryMapSize: memoryMapSize)
        pool.writeWithoutTransaction { db in
            checkpointer.install(on: db)
            indexing.statements.bind(to: db)
        }
        // After the records' migrations (a pass reads their tables), before any reader opens
        // (readers attach the index file, which must exist with its tables).
        let index: SQLiteSearchIndexFile
        do {
            index = try SQLiteSearchIndexFile(recordsPath: path, busyTimeout: busyTimeout, memoryMapSize: memoryMapSize, indexing: indexing)
        } catch {
            try? pool.close()
            throw error
        }
        // With NORMAL a commit does not wait for the disk (but for a checkpoint now and then):
        // every transaction runs on the calling thread, as point reads do. With FULL a write
        // that finds no transaction in progress runs its own on its thread too (the hop to
        // GRDB's writer queue and back cost a sixth of a single durable put), while the
        // transactions that commit queued writes under contention wait for fsync on GRDB's
        // writer queue, leaving the cooperative pool's threads to the writers.
        let writer = GroupCommitWriter(
            pool: pool,
            hooks: GroupCommitWriter.Hooks(
                began: { indexing.transactionBegan() },
                willCommit: { db in
                    try SQLiteFileCheck.refuseIfMoved(db, path: path)
                    try indexing.flush(db)
                },
                didCommit: { if indexing.passIsDue { index.requestBackgroundPass() } },
                mustWait: { checkpointer.isBehind },
                wait: { await checkpointer.waitForTheLog() }),
            onCallingThread: synchronous == .normal,
            statements: indexing.statements,
            // What GRDB sets the connections to (`Configuration.busyMode = .timeout`).
            busyTimeoutMilliseconds: CInt(seconds(busyTimeout) * 1000))
        let indexMerger = idleIndexMerge.map { idle in
            SQLiteIndexMerger(
                index: index, writer: writer, policy: SQLiteIndexMerger.Policy(idle: max(idle, .milliseconds(10))))
        }
        return SQLitePoolConnections.Opened(pool: pool, writer: writer, index: index, indexMerger: indexMerger)
    }

    /// Opens the pool, applies the migrations and sets the durability level, retrying while
    /// another process holds the lock during its own first open (setting WAL mode does not
    /// always wait on SQLite's busy handler), or deleted the WAL while GRDB looked at it.
    /// `makePool` makes GRDB's pool (tests put a failure in front of it).
    static func openPool(
        path: String, synchronous: Synchronous, busyTimeout: Duration, memoryMapSize: Int,
        makePool: (String, Configuration) throws -> DatabasePool = { try DatabasePool(path: $0, configuration: $1) }
    ) throws -> DatabasePool {
        var configuration = Configuration()
        configuration.busyMode = .timeout(seconds(busyTimeout))
        configuration.label = "AgentMemory"
        let indexPath = SQLiteSearchIndexFile.path(forRecordsAt: path)
        configuration.prepareDatabase { db in
            try SQLiteSearchFunctions.register(db)
            try SQLiteIndexedBody.register(db)
            try db.execute(sql: "PRAGMA mmap_size = \(memoryMapSize)")
            // Readers see the full-text index as `search` (searches rank with it); the writer
            // never attaches it, whose `BEGIN IMMEDIATE` would take its write lock too. The
            // store creates the file before its first read; a pool opened without the store
            // (tests) reads the records alone.
            if db.configuration.readonly, access(indexPath, F_OK) == 0 {
                try db.execute(sql: "ATTACH DATABASE ? AS search", arguments: [indexPath])
                // Mapped as the records are (the setting is each schema's own).
                try db.execute(sql: "PRAGMA search.mmap_size = \(memoryMapSize)")
            }
        }
        // An existing file without a WAL: spares the process GRDB's write at open.
        SQLiteWALPlaceholder.create(besideDatabaseAt: path)
        // Before the pool's connections open their logs: a commit's frames in one write.
        _ = SQLiteWALWrites.registered
        let deadline = ContinuousClock.now + busyTimeout
        while true {
            do {
                let pool = try makePool(path, configuration)
                try SQLiteMigrations.migrate(pool)
                // Set on the writer after GRDB's WAL set-up, which itself sets NORMAL.
                try pool.writeWithoutTransaction { db in
                    try db.execute(sql: "PRAGMA synchronous = \(synchronous.rawValue)")
                    // A write's sub-journal (the pages a savepoint or a statement may have to
                    // undo) in memory: past 64 KiB SQLite moved it to a temporary file, opened,
                    // written and deleted within the write, which under 16 concurrent writers
                    // was the slowest part of a group's inserts.
                    try db.execute(sql: "PRAGMA temp_store = MEMORY")
                    // At FULL every commit syncs its log before others can see its frames, so
                    // they can wait in memory for that sync and go to the file in one write; at
                    // NORMAL they go as the commit frame completes (the migrations' read above
                    // opened the writer's log).
                    SQLiteWALWrites.enable(db)
                }
                return pool
            } catch let error as DatabaseError
                where (error.resultCode == .SQLITE_BUSY || error.resultCode == .SQLITE_LOCKED) && ContinuousClock.now < deadline {
                usleep(UInt32.random(in: 5_000...25_000))
            } catch where walVanished(error) && ContinuousClock.now < deadline {
                // GRDB looks at the `-wal` in two steps (`Database.setUpWALMode`: does it exist,
                // then how large is it), and SQLite deletes the WAL when the last connection to
                // the file closes: another process closing in between made the second step
                // throw, and the open failed (about 1 start in 170 of four processes starting
                // on one file at once). The file is as it was; open again.
                SQLiteWALPlaceholder.create(besideDatabaseAt: path)
                usleep(UInt32.random(in: 1_000...5_000))
            }
        }
    }

    /// Whether `error` is Foundation's "no such file" for a `-wal` file: GRDB's check of the
    /// WAL's size at open, after another connection's close deleted it.
    static func walVanished(_ error: any Error) -> Bool {
        let error = error as NSError
        guard error.domain == NSCocoaErrorDomain,
            error.code == CocoaError.fileReadNoSuchFile.rawValue || error.code == CocoaError.fileNoSuchFile.rawValue
        else { return false }
        let path = error.userInfo[NSFilePathErrorKey] as? String ?? (error.userInfo[NSURLErrorKey] as? URL)?.path
        return path?.hasSuffix("-wal") == true
    }
}
