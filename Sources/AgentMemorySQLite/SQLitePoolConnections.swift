import AgentMemoryCore
import Foundation
import GRDB

/// The store's GRDB connections and what runs on them (the group-commit writer, the index
/// merger), opened when the store first needs them: the writer's connection, and the readers'
/// pool, which opens at its own first read (``SQLiteReaders``).
///
/// A store opened on a file that is already created and migrated, and whose point reader can
/// read it (``SQLitePointReader/openForReads()``), leaves this closed until a write, a search,
/// a listing or a read the point reader cannot take: a process that only reads keys (an
/// `agent-memory recall`, an `exec` of `recall` calls) never pays for GRDB's connections. Opening
/// GRDB's pool cost about 4.8M instructions, two thirds of them Foundation's first look-ups of
/// the types behind the `-wal` file's size in GRDB's WAL set-up, 7% of an `exec` of 2,000
/// recalls (BENCHMARKS.md, round thirty); the writer is now a connection of its own, which
/// does not look (``SQLiteMemoryStore/openWriter(path:synchronous:busyTimeout:memoryMapSize:)``).
/// Any other store opens them at once, as before.
final class SQLitePoolConnections: Sendable {
    /// The connections and the objects built over them.
    struct Opened: Sendable {
        /// The connection every write (and a read that follows writes) runs on.
        let database: DatabaseQueue
        /// The read-only connections searches, listings and reads run on.
        let readers: SQLiteReaders
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

    /// The connections and the writer, opened now if they were not (under a lock: a task that asks
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

    /// The connections and the writer when they are open; never opens them.
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
    /// Creates the file's directory, opens the writer's connection (see ``openWriter(path:synchronous:busyTimeout:memoryMapSize:)``)
    /// and builds the group-commit writer, the readers and the index merger over it.
    static func openConnections(
        path: String, synchronous: Synchronous, busyTimeout: Duration, memoryMapSize: Int, idleIndexMerge: Duration?,
        checkpointer: SQLiteCheckpointer, indexing: SQLiteSearchIndexing
    ) throws -> SQLitePoolConnections.Opened {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        let database = try openWriter(path: path, synchronous: synchronous, busyTimeout: busyTimeout, memoryMapSize: memoryMapSize)
        database.writeWithoutTransaction { db in
            checkpointer.install(on: db)
            indexing.statements.bind(to: db)
        }
        // After the records' migrations (a pass reads their tables), before any reader opens
        // (readers attach the index file, which must exist with its tables).
        let index: SQLiteSearchIndexFile
        do {
            index = try SQLiteSearchIndexFile(recordsPath: path, busyTimeout: busyTimeout, memoryMapSize: memoryMapSize, indexing: indexing)
        } catch {
            try? database.close()
            throw error
        }
        // With NORMAL a commit does not wait for the disk (but for a checkpoint now and then):
        // every transaction runs on the calling thread, as point reads do. With FULL a write
        // that finds no transaction in progress runs its own on its thread too (the hop to
        // GRDB's writer queue and back cost a sixth of a single durable put), while the
        // transactions that commit queued writes under contention wait for fsync on GRDB's
        // writer queue, leaving the cooperative pool's threads to the writers.
        let writer = GroupCommitWriter(
            database: database,
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
        let readers = SQLiteReaders {
            try DatabasePool(path: path, configuration: configuration(path: path, busyTimeout: busyTimeout, memoryMapSize: memoryMapSize, readonly: true))
        }
        return SQLitePoolConnections.Opened(database: database, readers: readers, writer: writer, index: index, indexMerger: indexMerger)
    }

    /// The connections' settings: SQL functions, memory mapping, and on read-only connections
    /// the full-text index attached as `search` (searches rank with it); the writer never
    /// attaches it, whose `BEGIN IMMEDIATE` would take its write lock too. The store creates
    /// the index file before its first read; readers opened without the store (tests) read
    /// the records alone.
    static func configuration(path: String, busyTimeout: Duration, memoryMapSize: Int, readonly: Bool) -> Configuration {
        var configuration = Configuration()
        configuration.busyMode = .timeout(seconds(busyTimeout))
        configuration.label = "AgentMemory"
        configuration.readonly = readonly
        // The schema declares no foreign keys; GRDB would run `PRAGMA foreign_keys = ON` as its
        // first statement, through its `SQL` literals (``Database/run(_:)``).
        configuration.foreignKeysEnabled = false
        let indexPath = SQLiteSearchIndexFile.path(forRecordsAt: path)
        configuration.prepareDatabase { db in
            try SQLiteSearchFunctions.register(db)
            try SQLiteIndexedBody.register(db)
            try db.run("PRAGMA mmap_size = \(memoryMapSize)")
            if db.configuration.readonly, access(indexPath, F_OK) == 0 {
                try db.makeStatement(sql: "ATTACH DATABASE ? AS search").execute(arguments: [indexPath])
                // Mapped as the records are (the setting is each schema's own).
                try db.run("PRAGMA search.mmap_size = \(memoryMapSize)")
            }
        }
        return configuration
    }

    /// Opens the writer's connection, puts the file in WAL mode, applies the migrations and
    /// sets the durability level, retrying while another process holds the lock during its own
    /// first open (setting WAL mode does not always wait on SQLite's busy handler).
    ///
    /// A GRDB `DatabaseQueue`, not the writer of a `DatabasePool`: a pool's open looks at the
    /// `-wal` file's size through Foundation's `URL.resourceValues` (`Database.setUpWALMode`),
    /// whose first use in a process runs the runtime's type and conformance look-ups behind
    /// Foundation's URL parsing, 3.1M of the 13.7M instructions of an `agent-memory remember`
    /// process (BENCHMARKS.md, round forty-six); and when the `-wal` is missing or empty, it
    /// writes a transaction (creating and dropping a table) to give the log a frame. The queue
    /// does neither; WAL mode is set here, and the readers are a read-only pool opened after
    /// this connection (``SQLiteReaders``), so the log exists when they open.
    static func openWriter(path: String, synchronous: Synchronous, busyTimeout: Duration, memoryMapSize: Int) throws -> DatabaseQueue {
        let configuration = configuration(path: path, busyTimeout: busyTimeout, memoryMapSize: memoryMapSize, readonly: false)
        // Before the connection opens its log: a commit's frames in one write.
        _ = SQLiteWALWrites.registered
        let deadline = ContinuousClock.now + busyTimeout
        while true {
            var opened: DatabaseQueue?
            do {
                let queue = try DatabaseQueue(path: path, configuration: configuration)
                opened = queue
                try queue.writeWithoutTransaction { db in
                    let mode = try db.texts("PRAGMA journal_mode = WAL").first ?? nil
                    guard mode == "wal" else {
                        throw DatabaseError(message: "could not put \(path) in WAL mode (its journal mode is \(mode ?? "unknown"))")
                    }
                }
                try SQLiteMigrations.migrate(queue)
                try queue.writeWithoutTransaction { db in
                    try db.run("PRAGMA synchronous = \(synchronous.rawValue)")
                    // A write's sub-journal (the pages a savepoint or a statement may have to
                    // undo) in memory: past 64 KiB SQLite moved it to a temporary file, opened,
                    // written and deleted within the write, which under 16 concurrent writers
                    // was the slowest part of a group's inserts.
                    try db.run("PRAGMA temp_store = MEMORY")
                    // At FULL every commit syncs its log before others can see its frames, so
                    // they can wait in memory for that sync and go to the file in one write; at
                    // NORMAL they go as the commit frame completes (the migrations' read above
                    // opened the writer's log).
                    SQLiteWALWrites.enable(db)
                }
                return queue
            } catch let error as DatabaseError
                where (error.resultCode == .SQLITE_BUSY || error.resultCode == .SQLITE_LOCKED) && ContinuousClock.now < deadline {
                try? opened?.close()
                usleep(UInt32.random(in: 5_000...25_000))
            } catch {
                try? opened?.close()
                throw error
            }
        }
    }

}
