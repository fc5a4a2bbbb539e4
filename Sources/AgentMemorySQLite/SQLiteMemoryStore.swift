import AgentMemoryJSON
import Foundation
import AgentMemoryCore
import GRDB
import GRDBSQLite
import Logging
import Synchronization

/// The embedded default store: one SQLite file (WAL mode) that several processes may share.
///
/// - Durability: `synchronous = FULL` by default, so a write that returned survives a crash
///   or power loss; ``Synchronous/normal`` trades the last transactions on power loss (never
///   on a process crash) for speed. At FULL a commit's write-ahead-log frames go to the file
///   in one write before its fsync (at NORMAL, as its commit frame completes), through a VFS
///   of the store's own that becomes the
///   process's default SQLite VFS when the first store opens and passes every other file
///   straight to the VFS it wraps (``SQLiteWALWrites``).
/// - Concurrency: writers from several processes queue on SQLite's lock with a busy timeout
///   instead of failing; compare-and-set and batches run in one transaction.
/// - Search: an FTS5 index (porter stemming, unicode61) over keys and values, ranked with
///   bm25, in a file of its own beside the records (`PATH-search`); writes note their changes
///   and passes on the index's own connection apply them in batches, in the background, and
///   before any search that would miss them (``SQLiteSearchIndexing``, ``SQLiteSearchIndexFile``).
/// - Reads: point reads (`get`, `search`) on the calling thread, listings and the change log on
///   GRDB's reader queue (``ReadPath``); `get` through a connection of its own when it is free
///   (``SQLitePointReader``). Every connection reads the file through a memory map, up to
///   ``defaultMemoryMapSize`` bytes of it (`PRAGMA mmap_size`; pages the WAL holds are still
///   read from the WAL): a page in the operating system's cache is then read without a system
///   call and a copy, which made searches at a million records 10 to 17% faster. Writes go
///   through the file as before (SQLite maps it read-only). One thing changes: a disk error
///   while reading a mapped page, or the file cut short by another program while the store is
///   open, stops the process with `SIGBUS` instead of failing the read; `memoryMapSize: 0`
///   reads every page with `pread`.
/// - Opening: with a point reader (any ``ReadPath`` but ``ReadPath/readerQueue``), a file that
///   exists, is migrated and is in WAL mode is opened for `get` and key suggestions alone;
///   GRDB's connections (the writer, and the readers of listings, searches, the change log)
///   open at the first operation that needs them, so that a process that only reads keys never
///   pays for them (``SQLitePoolConnections``). Any other file, or any store without a point
///   reader, is created, migrated or refused when the store opens, and connections that fail
///   to open later throw ``MemoryError/Code/unavailable`` there.
public final class SQLiteMemoryStore: MemoryStore {
    /// How hard SQLite works to make each commit durable.
    public enum Synchronous: String, Sendable, Hashable {
        /// fsync on every commit: survives power loss (the default).
        case full = "FULL"
        /// fsync at checkpoints only: survives a process crash, may lose the last commits on
        /// power loss.
        case normal = "NORMAL"
    }

    /// Where reads run: on the task's own thread, or on a Dispatch queue off Swift's
    /// cooperative pool (one hop there and back, tens of microseconds).
    public enum ReadPath: String, Sendable, Hashable {
        /// Reads bounded by their result on the calling thread, where they are several times
        /// faster: `get`, a `list` page (an index range of `limit` rows), and `search` while the
        /// full-text index is small, or while the words of the query hold few rows; searches over
        /// a large index (``largeSearchIndex`` rows or more: every row matching a query word is
        /// ranked) with a common word or more rows than ``boundedSearchRows``, the change log,
        /// history and namespaces on the queue, so that a long read never holds a thread of the
        /// cooperative pool (a search that finds a common word only once it has started on the
        /// calling thread starts again on the queue; the store remembers the word, so that the
        /// next search holding it goes to the queue at once). The default, suited to servers.
        case automatic
        /// Every read on the calling thread.
        case callingThread
        /// Every read on the queue.
        case readerQueue
    }

    /// How much of the file each connection maps by default: 1 GiB (a million records take
    /// about 400 MB). Address space only: the mapped pages are the operating system's file cache.
    public static let defaultMemoryMapSize = 1 << 30

    /// Rows in the full-text index from which ``ReadPath/automatic`` runs searches on the queue
    /// (a search ranks every row holding one of its words: milliseconds at this size).
    public static let largeSearchIndex = 50_000

    /// The file this store uses.
    public let path: String
    /// The limits enforced on every write.
    public let limits: MemoryLimits
    /// How long the change log is kept.
    public let retention: ChangeLogRetention
    /// Where reads run.
    public let readPath: ReadPath
    /// GRDB's connections, the group-commit writer and the index merger, opened at the first need
    /// (``SQLitePoolConnections``).
    let connections: SQLitePoolConnections
    /// The read-only connections (the connections opened now if they were not).
    var readers: SQLiteReaders {
        get throws { try connections.opened().readers }
    }
    /// The writer every write goes through (opened now if it was not).
    var writer: GroupCommitWriter {
        get throws { try connections.opened().writer }
    }
    /// The full-text index's file (opened with the pool).
    var searchIndex: SQLiteSearchIndexFile {
        get throws { try connections.opened().index }
    }
    /// The merger of the full-text index (opened now if it was not); `nil` when off.
    var indexMerger: SQLiteIndexMerger? {
        get throws { try connections.opened().indexMerger }
    }
    /// Notes each transaction's changes for the full-text index.
    let indexing: SQLiteSearchIndexing
    /// How hard each commit works to be durable.
    let synchronous: Synchronous
    /// The connection `get` uses on the calling thread (GRDB's pool when it is busy).
    let pointReader: SQLitePointReader?
    /// The writer's commit count when a `get` last chose where to read (``readAfterWrites(_:)``).
    let commitsAtLastRead = Atomic(-1)
    /// The log's frames the close copied beside its look at the index, all of them (`-1`: some
    /// were left); `0` until then (for tests).
    let closeCopiedFrames = Atomic(0)
    /// Checkpoints the log off the write path (``SQLiteCheckpointer``).
    let checkpointer: SQLiteCheckpointer
    let writesSincePrune = Locked(0)
    private let closed = Locked(false)
    /// Whether the last search saw a full-text index of ``largeSearchIndex`` rows or more.
    let searchIndexIsLarge = Atomic(false)
    /// Searches that started on the calling thread over a large index and went to the queue
    /// (``ReadPath/automatic``; for tests).
    let unboundedSearches = Atomic(0)
    /// Words that searches on the queue over a large index found common (in
    /// ``commonWordRows`` rows or more), by their stems: a search holding one
    /// goes to the queue at once instead of starting on the calling thread only to give up
    /// (``ReadPath/automatic``). A word found rare again is dropped.
    let commonSearchWords = Locked(Set<String>())
    /// Searches sent to the queue at once for a word in ``commonSearchWords`` (for tests).
    let searchesSentToQueue = Atomic(0)
    /// Pools found by a deeper ranking of the whole index after a run of equal ranks at its
    /// first cut, and pools ranked with the join to the records (for tests).
    let rankingsPastTies = Atomic(0)
    let rankingsWithJoin = Atomic(0)
    /// The most rows a search's words may hold together, with a rare word and with none, for
    /// its pool to be ranked from their row lists (``wordListRows``; tests set 0 to have the
    /// other rankings run), and the pools so ranked after a common word was counted (for tests).
    let wordListRowLimit = Atomic(SQLiteMemoryStore.wordListRows)
    let wordListRowLimitWithoutRareWord = Atomic(SQLiteMemoryStore.wordListRowsWithoutRareWord)
    let poolsFromWordLists = Atomic(0)
    let clock: @Sendable () -> Date
    let logger: Logger

    /// Opens (creating if needed, with its parent directory) the SQLite file at `path`.
    ///
    /// - Parameters:
    ///   - busyTimeout: how long a write waits for another process's lock before failing.
    ///   - readPath: where reads run (see ``ReadPath``).
    ///   - memoryMapSize: bytes of the file each connection reads through a memory map
    ///     (``defaultMemoryMapSize``); 0 reads every page with `pread`, so that a disk error
    ///     fails the read instead of stopping the process (a negative size counts as 0).
    ///   - idleIndexMerge: how long this store's writes must rest before it indexes the rows
    ///     still waiting for the full-text index and merges the index's segments in the
    ///     background, in short steps that a write waits for one of at most, once the index has
    ///     grown by a tenth since it was last merged (what ``optimizeSearchIndex()`` does at
    ///     once); `nil` never does either on its own (searches and `close()` still index).
    ///   - clock: the time source for timestamps and expiry (injectable for tests).
    ///   - logger: where opening, closing and failures are logged (nothing by default).
    public init(
        path: String,
        limits: MemoryLimits = .default,
        synchronous: Synchronous = .full,
        busyTimeout: Duration = .seconds(10),
        retention: ChangeLogRetention = .default,
        readPath: ReadPath = .automatic,
        memoryMapSize: Int = SQLiteMemoryStore.defaultMemoryMapSize,
        idleIndexMerge: Duration? = .seconds(2),
        clock: @escaping @Sendable () -> Date = { Date() },
        logger: Logger = Logger(label: "AgentMemory.sqlite", factory: { _ in SwiftLogNoOpLogHandler() })
    ) throws {
        self.path = path
        self.limits = limits
        self.retention = retention
        self.readPath = readPath
        self.synchronous = synchronous
        self.clock = clock
        self.logger = logger
        let mapped = max(0, memoryMapSize)
        let checkpointer = SQLiteCheckpointer(path: path)
        self.checkpointer = checkpointer
        let indexing = SQLiteSearchIndexing(statements: SQLiteWriterStatements())
        self.indexing = indexing
        let pointReader = readPath == .readerQueue ? nil : SQLitePointReader(path: path, busyTimeout: busyTimeout, memoryMapSize: mapped)
        self.pointReader = pointReader
        connections = SQLitePoolConnections(path: path, open: {
            // Opening after the store: the file must still be the one the store opened.
            if pointReader?.fileHasMoved() == true {
                throw MemoryError(
                    .unavailable,
                    "The SQLite file \(path) was deleted or replaced after the store opened it; nothing was read from the new"
                        + " file or written. Restore the file or open the store again")
            }
            do {
                return try Self.openConnections(
                    path: path, synchronous: synchronous, busyTimeout: busyTimeout, memoryMapSize: mapped,
                    idleIndexMerge: idleIndexMerge, checkpointer: checkpointer, indexing: indexing)
            } catch {
                logger.error("cannot open the SQLite store", metadata: ["path": "\(path)", "error": "\(SQLiteMemoryStore.describe(error))"])
                throw MemoryError(.unavailable, "Cannot open the SQLite store at \(path): \(SQLiteMemoryStore.describe(error))")
            }
        })
        // GRDB's connections wait for the first need when the point reader can read the file as
        // it is (created, migrated, in WAL mode); otherwise they open now, creating and migrating
        // the file, and report what is wrong with it here, as they always did.
        if pointReader?.openForReads() != true {
            _ = try connections.opened()
        }
        logger.debug("opened the SQLite store", metadata: ["path": "\(path)", "synchronous": "\(synchronous.rawValue)"])
    }

    /// `duration` in seconds.
    static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }

    /// The `synchronous` setting in force on the connection that writes (0 off, 1 normal, 2 full).
    package func effectiveSynchronous() async throws -> Int {
        try await write { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1 }
    }

    /// Returns once the background checkpoint this store's writes asked for has finished (for
    /// benchmarks that time other work in turn with the store's).
    package func waitForBackgroundCheckpoint() async {
        await checkpointer.waitUntilIdle()
    }

    /// The default file: `$AGENT_MEMORY_HOME/memory.sqlite`, else `~/.agent-memory/memory.sqlite`.
    public static var defaultPath: String { defaultPath(environment: ProcessInfo.processInfo.environment) }

    /// The default file under the given environment's `AGENT_MEMORY_HOME`, else `HOME`.
    public static func defaultPath(environment: [String: String]) -> String {
        if let home = environment["AGENT_MEMORY_HOME"], !home.isEmpty {
            return (home as NSString).appendingPathComponent("memory.sqlite")
        }
        let userHome = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        return (userHome as NSString).appendingPathComponent(".agent-memory/memory.sqlite")
    }

    // MARK: - MemoryStore

    /// The live record under `key`, or `nil`.
    public func get(_ key: MemoryKey, in namespace: Namespace) async throws -> MemoryRecord? {
        let now = clock().timeIntervalSince1970
        let name = namespace.name
        if let pointReader {
            try checkOpen()
            if let records = readAfterWrites({ db in try Self.liveRecords(db, namespace: name, keys: [key], now: now) }) {
                return records[key]
            }
            if let result = pointReader.get(namespace: name, key: key.rawValue, now: now) { return result }
        }
        return try await read { db in try Self.liveRecords(db, namespace: name, keys: [key], now: now)[key] }
    }

    /// Applies the operations in one transaction; see ``MemoryStore/apply(_:in:)``.
    public func apply(_ operations: [MemoryOperation], in namespace: Namespace) async throws -> [WriteOutcome] {
        let prepared = try operations.map(limits.prepare)
        let now = clock()
        overlapIndexing(operations.count)
        return try await write(sharing: { db, shared in
            try self.withRecordWriter(db, shared, namespace: namespace) { writer in
                if prepared.count > 1 { try writer.prefetch(prepared.map { $0.key }) }
                return try prepared.map { try writer.apply($0, limits: self.limits, namespace: namespace, now: now).outcome }
            }
        })
    }

    /// Writes staged plans in one transaction; see ``MemoryStore/commit(_:in:)``.
    public func commit(_ plans: [WritePlan], in namespace: Namespace) async throws {
        let now = clock()
        try await write(sharing: { db, shared in
            try self.withRecordWriter(db, shared, namespace: namespace) { writer in
                if plans.count > 1 { try writer.prefetch(plans.map { $0.key }) }
                for plan in plans { try writer.commit(plan, limits: self.limits, namespace: namespace, now: now) }
            }
        })
    }

    /// Asks for a background pass beside a batch of `operations` operations when it is large
    /// enough and rows are pending (``SQLiteSearchIndexing/passOverlaps(_:)``). A streamed
    /// commit (the executor's turn of many calls) does not ask: it begins before its size is known.
    private func overlapIndexing(_ operations: Int) {
        guard indexing.passOverlaps(operations) else { return }
        connections.ifOpened?.index.requestBackgroundPass()
    }

    /// Runs `body` with a record writer for `namespace`: the group's shared one when the write
    /// runs together with others (the group inserts the held rows at its end), else one of its
    /// own, whose held rows are inserted here.
    func withRecordWriter<T>(
        _ db: Database, _ shared: SharedRecordWriters?, namespace: Namespace, _ body: (SQLiteRecordWriter) throws -> T
    ) throws -> T {
        if let shared { return try body(shared.writer(db: db, namespace: namespace, store: self)) }
        let writer = SQLiteRecordWriter(db: db, namespace: namespace, store: self)
        let result = try body(writer)
        try writer.finish()
        return result
    }

    /// Namespaces with live records.
    public func namespaces() async throws -> [NamespaceSummary] {
        let now = clock().timeIntervalSince1970
        return try await scan { db in
            try Row.fetchAll(db, sql: """
                SELECT namespace, COUNT(*) AS count FROM memory_records
                WHERE expires_at IS NULL OR expires_at > ? GROUP BY namespace ORDER BY namespace
                """, arguments: [now]).map { row in
                NamespaceSummary(namespace: try Namespace(row["namespace"]), recordCount: row["count"])
            }
        }
    }

    /// Deletes every expired record now (reads already ignore them); returns how many.
    @discardableResult
    public func purgeExpired() async throws -> Int {
        let now = clock().timeIntervalSince1970
        return try await write { db in
            let predicate = "expires_at IS NOT NULL AND expires_at <= ?"
            try self.indexing.willDelete(where: predicate, arguments: [now], db: db)
            try db.execute(sql: "DELETE FROM memory_records WHERE \(predicate)", arguments: [now])
            return db.changesCount
        }
    }

    // MARK: - Internals

    /// Closes the database files, after catching the full-text index up when this store's
    /// writes leave it 4,096 rows or more behind (fewer are indexed by the next search, which
    /// still finds them); later calls fail with ``MemoryError/Code/unavailable``. Closing twice
    /// does nothing.
    public func close() async throws {
        let wasClosed = closed.withLock { closed in
            defer { closed = true }
            return closed
        }
        guard !wasClosed else { return }
        logger.debug("closing the SQLite store", metadata: ["path": "\(path)"])
        connections.ifOpened?.indexMerger?.close()
        // A process that wrote many rows looks at the full-text index: meanwhile, on the
        // writer's queue, the records' log is copied into the database file (what the writer's
        // close would do after the look), two files on two threads.
        let copying = copyLogWhileTheIndexIsLookedAt()
        await catchUpBeforeClosing()
        await copying?.value
        pointReader?.close()
        await checkpointer.waitUntilIdle()
        checkpointer.close()
        // Never opened (a store that only read through its point reader): nothing more to close.
        guard let opened = connections.close() else { return }
        opened.indexMerger?.close()
        do {
            // The readers first: the last connection to close a WAL database checkpoints and
            // deletes the `-wal` file only if it can write. A read-only reader closing last
            // left the file behind, whose frames SQLite would lay over a backup of the database
            // file copied back alone.
            try opened.readers.ifOpened?.close()
            // Then the index file's connection, the last on that file (the writer never
            // attaches it), which closes its log. It has the records attached, so it must not
            // be the records' last connection either: that one's close checkpoints the records'
            // log, and SQLite syncs the folder at the first sync of each connection's handle on
            // a `-wal` (its open may have created the file). The writer's handle made that sync
            // at its first commit; the index connection's would make it again, about 1 ms on
            // this disk, at every close of a process that wrote (BENCHMARKS.md, round
            // forty-seven).
            try opened.index.close()
            // The write path's own statements first: GRDB refuses to close a connection with
            // statements left.
            try await opened.database.writeWithoutTransaction { _ in indexing.statements.removeAll() }
            // Last: the records' log is checkpointed and deleted on the writer's handle.
            try opened.database.close()
        } catch {
            throw MemoryError(.storage, "Cannot close the SQLite store at \(path): \(Self.describe(error))")
        }
    }

    /// A passive checkpoint of the records' log on the writer's connection, begun now, when
    /// this store wrote ``closeLookStride`` rows or more (its close then always looks at the
    /// index); `nil` otherwise. The writer's close then finds the log copied and deletes it.
    private func copyLogWhileTheIndexIsLookedAt() -> Task<Void, Never>? {
        guard let opened = connections.ifOpened, indexing.written.load(ordering: .relaxed) >= Self.closeLookStride else { return nil }
        return Task {
            try? await opened.database.writeWithoutTransaction { db in
                var frames: Int32 = 0
                var backfilled: Int32 = 0
                if sqlite3_wal_checkpoint_v2(db.sqliteConnection, nil, SQLITE_CHECKPOINT_PASSIVE, &frames, &backfilled) == SQLITE_OK {
                    self.closeCopiedFrames.store(Int(frames == backfilled ? backfilled : -1), ordering: .relaxed)
                }
            }
        }
    }

    func checkOpen() throws {
        if closed.withLock({ $0 }) {
            throw MemoryError(.unavailable, "The SQLite store at \(path) is closed")
        }
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? DatabaseError { return error.message ?? error.description }
        return String(describing: error)
    }
}
