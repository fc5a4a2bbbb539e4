import AgentMemoryCore
import Dispatch
import Foundation
import GRDB
import GRDBSQLite
import Synchronization

/// Merges the full-text index's segments in the background while the store's own writes rest,
/// so that a long-running store (a server, a long agent session) searches a compact index.
///
/// FTS5 writes each indexing transaction as a segment of its own and merges them four at a
/// time as they pile up, so an index that writes have grown holds 10 to 17 segments at a
/// million records; every word a search looks up is looked up in each one, and searches over
/// the index merged into one ran 5 to 17% faster (BENCHMARKS.md, round sixteen) and took 13 to
/// 16% less CPU (round seventeen). A merge rewrites the whole index (1.6 s at a million records), so it runs only
/// when it pays: when the segments other than the largest hold at least a tenth of the index's
/// pages (and ``Policy/minimumPages``), that is, once the index has grown by a tenth since it
/// was last merged, so that each rewrite is paid for by that growth.
///
/// A check runs every ``Policy/idle`` on a queue of its own. When this store's writer has
/// committed nothing since the previous check (and has committed something since the last
/// evaluation, or never evaluated), the merge runs in steps of ``Policy/pagesPerStep`` pages,
/// each its own transaction on the index file's connection (a pass waits for one step at most:
/// 4 ms at the median, 76 ms at the longest, at a million records), and stops as soon as the
/// writer commits again; the next quiet period goes on where it stopped. What search finds and
/// how it ranks does not change: a merge moves the same entries into fewer segments.
///
/// Before it merges, a quiet period brings the index up to date with the writes it has not
/// applied (a pass, ``SQLiteSearchIndexFile/catchUp()``), so that the first search after a
/// burst of writes and a rest finds nothing left to index (it would wait for a pass over up to
/// ``SQLiteSearchIndexing/catchUpThreshold`` rows first).
final class SQLiteIndexMerger: Sendable {
    /// When and how the merger works.
    struct Policy: Sendable {
        /// How long the writer must rest before a merge starts (and between checks).
        var idle: Duration
        /// Pages of merged output per step (FTS5's `'merge'` command).
        var pagesPerStep = 50
        /// The least the segments other than the largest must hold, in pages.
        var minimumPages = 256
        /// The least share of the index's pages those segments must hold.
        var share = 0.1
    }

    private struct State {
        var closed = false
        /// The writer's commits at the last check.
        var commitsSeen: Int
        /// Whether the writer committed since the index was last found not worth merging (true
        /// at first, so that an index that other processes left in pieces is merged too).
        var changed = true
    }

    private let index: SQLiteSearchIndexFile
    private let writer: GroupCommitWriter
    let policy: Policy
    private let state: Locked<State>
    private let queue = DispatchQueue(label: "AgentMemory.sqlite.merge", qos: .utility)
    /// Merges run to the end (one segment left), for tests.
    let completedMerges = Atomic(0)
    /// Merge steps run, and merges stopped by a write, for tests.
    let steps = Atomic(0)
    let interruptions = Atomic(0)

    /// Called on the merger's queue after each step with the number of steps so far (for tests).
    private let afterStep: (@Sendable (Int) -> Void)?
    /// Catch-ups run in quiet periods, for tests.
    let catchUps = Atomic(0)

    init(
        index: SQLiteSearchIndexFile, writer: GroupCommitWriter, policy: Policy,
        afterStep: (@Sendable (Int) -> Void)? = nil
    ) {
        self.index = index
        self.writer = writer
        self.policy = policy
        self.afterStep = afterStep
        state = Locked(State(commitsSeen: writer.commits.load(ordering: .relaxed)))
        scheduleCheck()
    }

    /// The next check, ``Policy/idle`` from now. It holds the merger weakly: a store dropped
    /// without `close()` takes its merger with it, and the pending check then does nothing.
    private func scheduleCheck() {
        queue.asyncAfter(deadline: .now() + SQLiteMemoryStore.seconds(policy.idle)) { [weak self] in
            guard let self, !self.state.withLock({ $0.closed }) else { return }
            self.check()
            self.scheduleCheck()
        }
    }

    /// Stops the checks and waits for a merge step in progress. Call before the pool closes.
    func close() {
        state.withLock { $0.closed = true }
        queue.sync {}
    }

    /// One check (on ``queue``): when the writer has committed nothing since the previous
    /// check, but something since the index was last found not worth merging, a catch-up of
    /// the rows pending, then a merge.
    private func check() {
        let commits = writer.commits.load(ordering: .relaxed)
        let quiet = state.withLock { state -> Bool in
            guard !state.closed else { return false }
            guard commits == state.commitsSeen else {
                state.commitsSeen = commits
                state.changed = true
                return false
            }
            return state.changed
        }
        guard quiet else { return }
        catchUpIfPending(since: commits)
        guard mergeIfWorthIt(since: commits) else { return }
        state.withLock { $0.changed = false }
    }

    /// Runs the store's catch-up while the writer stays at `commits` (it does nothing, and
    /// returns false, when no row is pending). A failure (a read-only file, another process holding the lock
    /// past the busy timeout) is left to the next search, which catches up too.
    private func catchUpIfPending(since commits: Int) {
        guard !state.withLock({ $0.closed }), writer.commits.load(ordering: .relaxed) == commits else { return }
        let indexed = (try? index.catchUp()) ?? false
        if indexed { catchUps.add(1, ordering: .relaxed) }
    }

    /// Merges while the writer stays at `commits`; true when there is nothing more to try before
    /// the next write (merged to the end, not worth merging, an index this code cannot read, or
    /// a step failed), false when a write or `close` stopped it.
    private func mergeIfWorthIt(since commits: Int) -> Bool {
        guard let pages = try? index.queue.read({ db in try SQLiteSearchIndexing.segmentPages(db) }), Self.worthMerging(pages, policy: policy) else {
            return true
        }
        var first = true
        while true {
            guard !state.withLock({ $0.closed }) else { return false }
            guard writer.commits.load(ordering: .relaxed) == commits else {
                interruptions.add(1, ordering: .relaxed)
                return false
            }
            // The first step starts a merge of every segment (a negative count); the next ones
            // go on with it. FTS5 changes at least two rows when a step did work.
            let count = first ? -policy.pagesPerStep : policy.pagesPerStep
            let worked: Bool
            do {
                worked = try index.queue.writeWithoutTransaction { db -> Bool in
                    guard let connection = db.sqliteConnection else { return false }
                    let before = sqlite3_total_changes64(connection)
                    // Deferred, the merge its first statement: the index's write lock alone
                    // (`BEGIN IMMEDIATE` would lock the attached records too).
                    try db.inTransaction(.deferred) {
                        try db.execute(sql: "INSERT INTO memory_fts (memory_fts, rank) VALUES ('merge', ?)", arguments: [count])
                        return .commit
                    }
                    return sqlite3_total_changes64(connection) - before >= 2
                }
            } catch {
                // Not writable here (a read-only file, another process holding the lock past the
                // busy timeout): tried again after this store's next write, not every period.
                return true
            }
            let done = steps.add(1, ordering: .relaxed).newValue
            afterStep?(done)
            first = false
            if !worked {
                completedMerges.add(1, ordering: .relaxed)
                return true
            }
        }
    }

    /// Whether an index of segments of `pages` leaf pages each is worth merging (see the type's
    /// documentation).
    static func worthMerging(_ pages: [Int], policy: Policy) -> Bool {
        guard pages.count >= 2, let largest = pages.max() else { return false }
        let total = pages.reduce(0, +)
        let rest = total - largest
        return rest >= policy.minimumPages && Double(rest) >= policy.share * Double(total)
    }
}
