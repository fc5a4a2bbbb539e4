import AgentMemoryCore
import Foundation
import GRDB
import GRDBSQLite
import Synchronization

/// Group commit: writes that arrive while a transaction is being written and synced wait
/// together, then run in the next transaction, and are all acknowledged after that transaction
/// commits. The group first runs together, without savepoints, sharing record writers
/// (``commitTogether(_:onCallingThread:)``); when one of its writes fails, it runs again write
/// by write, each in its own savepoint.
///
/// Durability is unchanged (no write returns before the commit that holds it is on disk), but
/// sixteen concurrent writers cost one fsync instead of sixteen. A write that fails (a version
/// conflict, a limit) fails alone; a commit that fails fails every write in it. A writer that
/// finds no transaction in progress runs its own at once (no hand-off to another task), taking
/// along whatever queued meanwhile.
///
/// Every transaction calls ``Hooks/began`` first and ``Hooks/willCommit`` last, after all its
/// writes (the store notes its rows for the full-text index there, once per transaction).
final class GroupCommitWriter: Sendable {
    /// What runs at the start and at the end of every transaction, inside it.
    struct Hooks: Sendable {
        /// Called first in every transaction.
        var began: @Sendable () -> Void = {}
        /// Called after the transaction's last write; a throw rolls the whole transaction back.
        var willCommit: @Sendable (Database) throws -> Void = { _ in }
        /// Called after every transaction that committed, on its thread, before its writes return.
        var didCommit: @Sendable () -> Void = {}
        /// Whether writes must wait before they begin (the store's write-ahead log has fallen
        /// behind its checkpoint); checked by every write before it leads a transaction or
        /// queues for one, a synchronous check so that the common path makes no async call.
        var mustWait: @Sendable () -> Bool = { false }
        /// The wait when ``mustWait`` says so: suspends the writing task, blocks no thread.
        var wait: @Sendable () async -> Void = {}
    }

    /// A write: given the group's shared record writers when it runs together with others
    /// without a savepoint of its own, `nil` when it runs alone or in its own savepoint.
    typealias Work = @Sendable (Database, SharedRecordWriters?) throws -> any Sendable

    private struct Job: Sendable {
        let work: Work
        let continuation: CheckedContinuation<any Sendable, any Error>
    }

    private struct State {
        var pending: [Job] = []
        var writing = false
    }

    /// The writer's connection (the store's `DatabaseQueue`; tests may give a pool).
    private let database: any DatabaseWriter
    private let state = Locked(State())
    /// The most queued writes one transaction takes (bounds the time a write waits behind others).
    private let maximumBatch: Int
    private let hooks: Hooks
    private let onCallingThread: Bool
    /// The connection's busy timeout in milliseconds, restored after a `BEGIN` on the calling
    /// thread that did not wait; `nil`: such a `BEGIN` waits as the connection is set to.
    private let busyTimeoutMilliseconds: CInt?
    /// The writer connection's prepared statements (`BEGIN`, `COMMIT`, savepoints).
    private let statements: SQLiteWriterStatements

    /// - Parameter onCallingThread: run every transaction on the thread of the task that runs
    ///   it (GRDB's synchronous write) instead of hopping to GRDB's writer queue and back; for
    ///   commits that do not wait for the disk, where the two thread switches of the hop cost
    ///   more than the transaction. Without it, a writer that finds no transaction in progress
    ///   still runs its own on its thread (a write alone, or with what queued meanwhile: one
    ///   thread of the pool waits for one fsync, where the hop cost a sixth of a single durable
    ///   put), and the transactions that commit queued writes (``drain()``, under contention)
    ///   hop, leaving the pool's threads to the writers. Committing the drains on the calling
    ///   thread too made 4 and 16 concurrent writers in one process 15 to 25% faster, but
    ///   `agent-memory serve` under 16 connections of PUTs 8% slower, with p99s of 25 and 70 ms
    ///   in two runs of five: a server's handlers need the cooperative threads that a draining
    ///   commit holds through its fsync (BENCHMARKS.md, round thirty-one).
    /// - Parameter statements: where the transaction's statements stay prepared (the store's
    ///   write path shares it); a new one by default.
    /// - Parameter busyTimeoutMilliseconds: the busy timeout the writer's connection is set to.
    ///   Given, a transaction on the calling thread does not wait for another process's write
    ///   lock there: its `BEGIN` tries once, and when the file is locked the transaction goes to
    ///   GRDB's writer queue, whose thread waits up to the timeout (a cooperative thread would
    ///   otherwise sleep in SQLite's busy handler for as long).
    init(
        database: any DatabaseWriter, maximumBatch: Int = 512, hooks: Hooks = Hooks(), onCallingThread: Bool = false,
        statements: SQLiteWriterStatements = SQLiteWriterStatements(), busyTimeoutMilliseconds: CInt? = nil
    ) {
        self.statements = statements
        self.database = database
        self.maximumBatch = maximumBatch
        self.hooks = hooks
        self.onCallingThread = onCallingThread
        self.busyTimeoutMilliseconds = busyTimeoutMilliseconds
    }

    /// One write transaction, on the calling thread or through GRDB's writer queue (where it
    /// also goes when, on the calling thread, another process held the file's write lock).
    private func transaction<R: Sendable>(
        onCallingThread: Bool, _ body: @escaping @Sendable (Database) throws -> R
    ) async throws -> R {
        defer { commits.add(1, ordering: .relaxed) }
        if onCallingThread {
            do {
                return try writeOnCallingThread(body)
            } catch is LockedElsewhere {
                lockedElsewhere.add(1, ordering: .relaxed)
            }
        }
        return try await database.writeWithoutTransaction { db in try self.inTransaction(db, body) }
    }

    /// Write transactions run (committed or not), counted as they end.
    let commits = Atomic(0)
    /// Reads run by ``readIfIdle(_:)`` (for tests).
    let idleReads = Atomic(0)

    /// GRDB's synchronous write (from a synchronous context, so the async overload is not chosen).
    private func writeOnCallingThread<R>(_ body: (Database) throws -> R) throws -> R {
        let restoring = busyTimeoutMilliseconds
        return try database.writeWithoutTransaction { db in
            guard let restoring else { return try inTransaction(db, body) }
            try beginWithoutWaiting(db, restoring: restoring)
            return try inTransaction(db, begun: true, body)
        }
    }

    /// `BEGIN IMMEDIATE` that does not wait for another connection's write lock: throws
    /// ``LockedElsewhere`` (no transaction begun) when the file is locked, then sets the busy
    /// timeout back to `milliseconds`.
    private func beginWithoutWaiting(_ db: Database, restoring milliseconds: CInt) throws {
        guard let connection = db.sqliteConnection else { throw LockedElsewhere() }
        sqlite3_busy_timeout(connection, 0)
        defer { sqlite3_busy_timeout(connection, milliseconds) }
        do {
            try statements.execute(Self.beginImmediate, db)
        } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY {
            throw LockedElsewhere()
        }
    }

    /// Another connection held the file's write lock when a transaction on the calling thread
    /// began.
    private struct LockedElsewhere: Error {}

    /// Transactions that found the file locked by another connection on the calling thread and
    /// went to GRDB's writer queue to wait (for tests).
    let lockedElsewhere = Atomic(0)

    /// Runs `body` in an immediate transaction and commits it, or rolls it back when it throws
    /// (as GRDB's `inTransaction` does, with its `BEGIN` and `COMMIT` kept prepared: GRDB
    /// prepares them again for every transaction, a few percent of a single put). The writer's
    /// memo (``SQLiteWriterMemo``) is told when the transaction begins, commits or rolls back.
    func inTransaction<R>(_ db: Database, begun: Bool = false, _ body: (Database) throws -> R) throws -> R {
        if !begun { try statements.execute(Self.beginImmediate, db) }
        statements.memo.begin(db)
        do {
            let result = try body(db)
            try statements.execute(Self.commit, db)
            statements.memo.committed(db)
            hooks.didCommit()
            return result
        } catch {
            statements.memo.rolledBack()
            // SQLite may have rolled the transaction back itself (a full disk, an I/O error).
            if let connection = db.sqliteConnection, sqlite3_get_autocommit(connection) == 0 {
                try? statements.execute(Self.rollback, db)
            }
            throw error
        }
    }

    private static let beginImmediate = SQLiteStatementText("BEGIN IMMEDIATE TRANSACTION")
    private static let beginDeferred = SQLiteStatementText("BEGIN DEFERRED TRANSACTION")
    private static let commit = SQLiteStatementText("COMMIT TRANSACTION")
    private static let rollback = SQLiteStatementText("ROLLBACK TRANSACTION")
    private static let savepoint = SQLiteStatementText("SAVEPOINT agent_memory_write")
    private static let releaseSavepoint = SQLiteStatementText("RELEASE SAVEPOINT agent_memory_write")
    private static let rollbackToSavepoint = SQLiteStatementText("ROLLBACK TRANSACTION TO SAVEPOINT agent_memory_write")

    /// Runs `work` in a write transaction shared with concurrent writes; returns after commit.
    func write<T: Sendable>(_ work: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await write(sharing: { db, _ in try work(db) })
    }

    /// Runs `work` in a write transaction shared with concurrent writes; returns after commit.
    /// `work` gets the group's shared record writers when it runs together with other writes
    /// (see ``commitTogether(_:onCallingThread:)``): it then leaves its held rows to them
    /// instead of inserting them itself.
    func write<T: Sendable>(sharing work: @escaping @Sendable (Database, SharedRecordWriters?) throws -> T) async throws -> T {
        if hooks.mustWait() { await hooks.wait() }
        let leads = takeTheLead()
        guard leads else {
            // A transaction is in progress: queue, and be committed by the next one.
            let result = try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<any Sendable, any Error>) in
                let job = Job(work: { db, shared in try work(db, shared) }, continuation: continuation)
                let orphaned = state.withLock { state -> Bool in
                    if state.writing {
                        state.pending.append(job)
                        return false
                    }
                    state.writing = true
                    return true
                }
                if orphaned {
                    // The writer finished between the two checks: run it from a task of its own.
                    state.withLock { $0.pending.append(job) }
                    Task { await self.drain() }
                }
            }
            // The job was made from `work`, whose result is a T.
            return result as! T
        }
        // No transaction in progress: this writer commits its own work and what queued so far.
        let queued = takeQueued()
        let outcome: Result<T, any Error>
        do {
            let results = try await commitTogether([{ db, shared in try work(db, shared) }] + queued.map(\.work), onCallingThread: true)
            // The first result is `work`'s, a T.
            outcome = results[0].map { $0 as! T }
            for (job, result) in zip(queued, results.dropFirst()) { job.continuation.resume(with: result) }
        } catch {
            // The transaction itself failed (it could not begin, or commit): nothing in it was
            // committed, and every write in it fails.
            outcome = .failure(error)
            for job in queued { job.continuation.resume(throwing: error) }
        }
        giveUpTheLead()
        return try outcome.get()
    }

    /// Begins a transaction of its own for `work` on a thread of its own, outside Swift's
    /// cooperative pool, where `work` may wait (for the parts of a streamed commit); `nil`, with
    /// nothing begun, when a transaction is in progress or writes must wait for the checkpoint.
    /// Writes that come meanwhile queue, and are committed after it.
    ///
    /// A thread started here runs the transaction at once. A task would wait for a thread of
    /// the pool, busy with the caller's own task: in an `exec` of 2,000 `remember` calls the
    /// transaction's task began when the caller had staged all but a few hundred plans.
    func beginAlone<T: Sendable>(_ work: @escaping @Sendable (Database) throws -> T) -> AloneTransaction<T>? {
        guard !hooks.mustWait(), takeTheLead() else { return nil }
        aloneBegun.add(1, ordering: .relaxed)
        let hooks = hooks
        let transaction = AloneTransaction<T>()
        let thread = Thread { [self] in
            let result = Result {
                defer { commits.add(1, ordering: .relaxed) }
                // GRDB's synchronous write runs on the calling thread, serialized with the
                // connection's other uses.
                return try database.writeWithoutTransaction { db in
                    try inTransaction(db) { db in
                        aloneLocked.add(1, ordering: .relaxed)
                        hooks.began()
                        let value = try work(db)
                        try hooks.willCommit(db)
                        return value
                    }
                }
            }
            giveUpTheLead()
            transaction.end(result)
        }
        thread.stackSize = 8 << 20
        thread.start()
        return transaction
    }

    /// Transactions begun by ``beginAlone(_:)`` (for tests).
    let aloneBegun = Atomic(0)
    /// Transactions of ``beginAlone(_:)`` whose thread holds the file's write lock (its
    /// `BEGIN IMMEDIATE` done; for tests: the thread starts after `beginAlone` returns).
    let aloneLocked = Atomic(0)

    /// Marks a transaction (or a read on the writer's connection) in progress; `false` when one
    /// already is (then the caller queues, or reads elsewhere).
    private func takeTheLead() -> Bool {
        state.withLock { state -> Bool in
            guard !state.writing else { return false }
            state.writing = true
            return true
        }
    }

    /// Ends what ``takeTheLead()`` began: hands what queued meanwhile to a task, so that the
    /// caller is not held up by others.
    private func giveUpTheLead() {
        let more = state.withLock { state -> Bool in
            if state.pending.isEmpty { state.writing = false }
            return !state.pending.isEmpty
        }
        if more { Task { await self.drain() } }
    }

    /// Runs `body` in a read transaction on the writer's connection, on the calling thread,
    /// when no write is in progress; `nil` (and `body` not run) when one is.
    ///
    /// The writer's connection has the pages of the last writes in its cache. Any other
    /// connection drops its whole page cache at the first read after another connection
    /// committed (SQLite resets a pager whose log changed), so reads that follow this
    /// process's writes, as a turn of tool calls does, find the pages here. Writes that arrive
    /// meanwhile queue, as behind a transaction, and run when the read ends.
    func readIfIdle<R>(_ body: (Database) throws -> R) throws -> R? {
        let leads = takeTheLead()
        guard leads else { return nil }
        defer { giveUpTheLead() }
        idleReads.add(1, ordering: .relaxed)
        return try database.writeWithoutTransaction { db -> R in
            try statements.execute(Self.beginDeferred, db)
            defer {
                if let connection = db.sqliteConnection, sqlite3_get_autocommit(connection) == 0 {
                    try? statements.execute(Self.commit, db)
                }
            }
            return try body(db)
        }
    }

    /// Commits `works` in one transaction and returns each one's outcome; throws when the
    /// transaction itself fails (it could not begin, a commit hook refused, or the commit
    /// failed: then none was committed).
    ///
    /// A group of writes first runs together, without savepoints, sharing record writers
    /// (``SharedRecordWriters``): their new rows and change-log entries go in with one set of
    /// multi-row inserts, and a namespace's last change number is read once. Should one of the
    /// writes throw (a version conflict, a limit), or the group's inserts fail, that
    /// transaction is rolled back and the writes run again in a new one, each in its own
    /// savepoint, so that a failure fails only its own write. A write therefore may run twice;
    /// writes change nothing outside the database that a second run would get wrong. A failure
    /// of the transaction itself is not tried again: it would fail the same way (or wait out
    /// another busy timeout first). A single write runs alone: the transaction is its savepoint.
    private func commitTogether(_ works: [Work], onCallingThread: Bool) async throws -> [Result<any Sendable, any Error>] {
        let hooks = hooks
        if works.count > 1 {
            do {
                let values = try await transaction(onCallingThread: onCallingThread) { db -> [any Sendable] in
                    hooks.began()
                    let values: [any Sendable]
                    do {
                        let shared = SharedRecordWriters()
                        values = try works.map { try $0(db, shared) }
                        try shared.finish()
                    } catch {
                        throw WritesFailedTogether()
                    }
                    try hooks.willCommit(db)
                    return values
                }
                groupsTogether.add(1, ordering: .relaxed)
                return values.map { .success($0) }
            } catch is WritesFailedTogether {
                groupsRetried.add(1, ordering: .relaxed)
            }
        }
        return try await transaction(onCallingThread: onCallingThread) { db -> [Result<any Sendable, any Error>] in
            hooks.began()
            if works.count == 1 {
                // Alone: the transaction itself is the savepoint (a throw rolls it back).
                let value = try works[0](db, nil)
                try hooks.willCommit(db)
                return [.success(value)]
            }
            let results = works.map { work in Result { try self.inSavepoint(db) { db in try work(db, nil) } } }
            try hooks.willCommit(db)
            return results
        }
    }

    /// A write of a group that ran together threw (which one is found when the group runs
    /// again write by write).
    private struct WritesFailedTogether: Error {}

    /// Groups committed together, without savepoints (for tests).
    let groupsTogether = Atomic(0)
    /// Groups run again write by write, each in its own savepoint, after one of their writes
    /// failed together (for tests; a failed transaction is not run again).
    let groupsRetried = Atomic(0)

    /// How many writes wait for the next transaction (for tests).
    var queuedCount: Int { state.withLock { $0.pending.count } }

    private func takeQueued() -> [Job] {
        state.withLock { state -> [Job] in
            let taken = Array(state.pending.prefix(maximumBatch))
            state.pending.removeFirst(taken.count)
            return taken
        }
    }

    /// Runs `work` in a savepoint of its own: its changes are released into the transaction,
    /// or rolled back alone when it throws (GRDB's `inSavepoint` does the same, but prepares its
    /// `SAVEPOINT` and `RELEASE` statements again at every call: a tenth of the writer's time
    /// under 16 concurrent writers; these stay prepared in the connection's cache). A write
    /// rolled back drops the writer memo's values, which it may have moved.
    func inSavepoint(_ db: Database, _ work: (Database) throws -> any Sendable) throws -> any Sendable {
        try statements.execute(Self.savepoint, db)
        do {
            let value = try work(db)
            try statements.execute(Self.releaseSavepoint, db)
            return value
        } catch {
            // The first error is the one reported; rolling back fails only when SQLite has
            // ended the whole transaction already (then the commit fails every write in it).
            statements.memo.forget()
            try? statements.execute(Self.rollbackToSavepoint, db)
            try? statements.execute(Self.releaseSavepoint, db)
            throw error
        }
    }

    /// Commits queued writes, a transaction at a time, until none are left.
    ///
    /// Before each transaction it yields once, so that the writers its last commit resumed
    /// (tasks that write again at once) queue before it takes the pending writes: without
    /// that, a transaction started while half of them were still being resumed, and sixteen
    /// concurrent writers shared a commit eight at a time.
    private func drain() async {
        while true {
            await Task.yield()
            let jobs = state.withLock { state -> [Job] in
                guard !state.pending.isEmpty else {
                    state.writing = false
                    return []
                }
                let taken = Array(state.pending.prefix(maximumBatch))
                state.pending.removeFirst(taken.count)
                return taken
            }
            guard !jobs.isEmpty else { return }
            let results: [Result<any Sendable, any Error>]
            do {
                results = try await commitTogether(jobs.map(\.work), onCallingThread: onCallingThread)
            } catch {
                results = jobs.map { _ in .failure(error) }
            }
            for (job, result) in zip(jobs, results) {
                job.continuation.resume(with: result)
            }
        }
    }
}
