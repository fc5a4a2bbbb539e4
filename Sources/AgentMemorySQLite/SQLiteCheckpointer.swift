import AgentMemoryCore
import Dispatch
import GRDB
import GRDBSQLite
import Synchronization

/// Checkpoints the write-ahead log on a connection and a thread of its own, so that a commit
/// does not copy the log into the database file (and, on `synchronous = NORMAL`, wait for its
/// fsyncs) before it returns.
///
/// SQLite's default (`wal_autocheckpoint`, 1,000 pages) runs a passive checkpoint inside the
/// commit that takes the log past 1,000 pages, on the writer's connection: the write that
/// happens to cross the line pays for copying every page of the log and syncing the file, and
/// every write queued behind it waits. Here a hook on the writer's connection
/// (`sqlite3_wal_hook`, which replaces the automatic checkpoint) only notes, after a commit,
/// that the log has grown past ``backgroundFrames``, and a passive checkpoint runs on this
/// object's connection, on a Dispatch queue, while the writer goes on. The first commit after
/// it ends checkpoints on the writer's connection what was written meanwhile (a few pages), so
/// that the next write can start the log again from its beginning: background copies alone,
/// racing every write, could leave the log growing. What a passive checkpoint does is
/// unchanged (it copies the frames no reader still needs), and so is durability: a commit is
/// durable when its frames are in the log (synced there on `FULL`), and the log is never
/// started again before its frames are in the database file.
///
/// Should the background fall behind (a log of ``inlineFrames`` pages), the commit that finds
/// it so checkpoints itself, as SQLite's default would; when the background's copy is still
/// running then, that checkpoint meets the copy's lock and copies nothing, so the commit also
/// marks the log as ``isBehind``, and the store's next writes wait (``waitUntilIdle()``, a
/// suspension, no thread blocked) until the round ends; the first commit after it copies the
/// rest. Without that wait the log grew past 5,000 pages on a machine under disk load
/// (BENCHMARKS.md, round twenty-five); a wait inside the commit instead held a thread of Swift's
/// cooperative pool for the whole copy and starved the process. The connection opens at the first
/// checkpoint: a process that writes little never opens it. BENCHMARKS.md, round eleven: single
/// puts with `synchronous = NORMAL` about 30% faster.
final class SQLiteCheckpointer: Sendable {
    /// Log pages after which a commit asks for a background checkpoint (SQLite's default
    /// automatic checkpoint size).
    static let backgroundFrames: Int32 = 1_000
    /// Log pages after which a commit checkpoints itself (the background has fallen behind,
    /// as on a machine whose every core is busy): the log's file stays under 16 MiB.
    static let inlineFrames: Int32 = 4_000

    private struct State {
        var phase = Phase.idle
        var closed = false
    }

    /// Where the background checkpoint of the log's current round stands.
    private enum Phase {
        /// None asked for: the log is below ``backgroundFrames``, or a round just ended.
        case idle
        /// Queued or running.
        case running
        /// Done: the next commit copies what was written meanwhile.
        case finished
    }

    /// The checkpointing connection, used on ``queue`` only.
    private final class Connection: @unchecked Sendable {
        var handle: OpaquePointer?
    }

    private let path: String
    private let state = Locked(State())
    private let connection = Connection()
    /// Serial: one checkpoint at a time, and the connection used by one thread.
    private let queue = DispatchQueue(label: "AgentMemory.sqlite.checkpoint", qos: .utility)
    /// Log pages the background checkpoints found copied into the database file when they
    /// ended, summed (for tests).
    let backgroundCopies = Atomic(0)
    /// Set by a commit that found the log at ``inlineFrames`` pages while a background copy
    /// ran, cleared when that copy ends: writes wait before they begin while it is set.
    private let behind = Atomic(false)
    /// Writes that waited for a background copy because the log was ``isBehind`` (for tests).
    let backgroundWaits = Atomic(0)
    /// Runs on the queue before each background copy (for tests: holds the copy back, as a
    /// machine whose every core is busy would).
    let beforeBackgroundCopy = Locked<(@Sendable () -> Void)?>(nil)

    init(path: String) {
        self.path = path
    }

    /// Replaces SQLite's automatic checkpoint on the writer's connection with this object's
    /// hook. The hook holds this object unretained: the store keeps it as long as its pool, and
    /// commits nothing after closing it.
    func install(on db: Database) {
        guard let connection = db.sqliteConnection else { return }
        let context = Unmanaged.passUnretained(self).toOpaque()
        sqlite3_wal_hook(connection, { context, connection, _, frames in
            guard let context else { return SQLITE_OK }
            let checkpointer = Unmanaged<SQLiteCheckpointer>.fromOpaque(context).takeUnretainedValue()
            if checkpointer.afterCommit(frames: frames) {
                // Copies what the log holds beyond the background checkpoint's copy (or all of
                // it, when the background has fallen behind), as SQLite's default would.
                sqlite3_wal_checkpoint_v2(connection, nil, SQLITE_CHECKPOINT_PASSIVE, nil, nil)
            }
            return SQLITE_OK
        }, context)
    }

    /// Called on the writer's connection after each commit, with the pages in the log: queues
    /// a background checkpoint when the log has grown past ``backgroundFrames``; returns
    /// whether this commit should checkpoint itself (a background checkpoint finished, so
    /// only the pages written since remain: copying them lets the next write start the log
    /// again from its beginning, where a background copy racing every write could leave the
    /// log growing; or the log reached ``inlineFrames``).
    private func afterCommit(frames: Int32) -> Bool {
        let (queue, inline) = state.withLock { state -> (Bool, Bool) in
            guard !state.closed else { return (false, false) }
            switch state.phase {
            case .idle:
                if frames >= Self.inlineFrames { return (false, true) }
                guard frames >= Self.backgroundFrames else { return (false, false) }
                state.phase = .running
                return (true, false)
            case .running:
                guard frames >= Self.inlineFrames else { return (false, false) }
                // This commit's checkpoint copies what the background's has not taken yet, or
                // nothing (it meets the copy's lock): writes wait for the round from here on.
                behind.store(true, ordering: .relaxed)
                return (false, true)
            case .finished:
                state.phase = .idle
                return (false, true)
            }
        }
        if queue { self.queue.async { self.checkpoint() } }
        return inline
    }

    /// One passive checkpoint on this object's connection (on ``queue``).
    private func checkpoint() {
        defer {
            // Under the lock, as the commit that sets `behind` holds it: never left set.
            state.withLock { state in
                state.phase = .finished
                behind.store(false, ordering: .relaxed)
            }
        }
        guard !state.withLock({ $0.closed }) else { return }
        if connection.handle == nil {
            var handle: OpaquePointer?
            // One read opens the connection's view of the log: a connection that has never read
            // does not know the file is in WAL mode, and its checkpoint would copy nothing.
            guard sqlite3_open_v2(path, &handle, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nil) == SQLITE_OK,
                  sqlite3_exec(handle, "SELECT 1 FROM sqlite_master LIMIT 1", nil, nil, nil) == SQLITE_OK
            else {
                // The next round asks again; the commit after this one copies the log itself.
                sqlite3_close_v2(handle)
                return
            }
            connection.handle = handle
        }
        beforeBackgroundCopy.withLock { $0 }?()
        // Busy (another process checkpointing) or failed: the commit after this one copies the
        // log itself.
        var copied: Int32 = 0
        if sqlite3_wal_checkpoint_v2(connection.handle, nil, SQLITE_CHECKPOINT_PASSIVE, nil, &copied) == SQLITE_OK {
            backgroundCopies.add(Int(max(0, copied)), ordering: .relaxed)
        }
    }

    /// Whether the log has reached ``inlineFrames`` pages while a background copy still runs:
    /// a write should ``waitForTheLog()`` before it begins.
    var isBehind: Bool { behind.load(ordering: .relaxed) }

    /// Waits, suspended, for the background copy that the log is behind (see ``isBehind``);
    /// the commit after it copies the rest of the log.
    func waitForTheLog() async {
        guard isBehind else { return }
        backgroundWaits.add(1, ordering: .relaxed)
        await waitUntilIdle()
    }

    /// Returns once no background checkpoint is queued or running (what was queued before the
    /// call has finished). A checkpoint is queued only with the phase set to running, and sets
    /// it to finished as its last step, so in any other phase there is nothing to wait for: a
    /// process that never grew the log past ``backgroundFrames`` (every short CLI run) closes
    /// without a hop to the queue, which would start a thread for it.
    func waitUntilIdle() async {
        if state.withLock({ $0.phase != .running }) { return }
        await withCheckedContinuation { continuation in queue.async { continuation.resume() } }
    }

    /// Waits for a checkpoint in progress, then closes the connection; later requests are
    /// ignored. Call before the writer's connection closes.
    func close() {
        state.withLock { $0.closed = true }
        queue.sync {
            sqlite3_close_v2(connection.handle)
            connection.handle = nil
        }
    }
}
