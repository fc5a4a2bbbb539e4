import AgentMemoryCore
import Dispatch
import GRDB

extension SQLiteMemoryStore {
    /// Begins a transaction on the writer's own thread that writes plans as they are sent (see
    /// ``StreamedCommit``); `nil` when the store is closed, a write is in progress or queued,
    /// or the log must be checkpointed first (the batch then commits with ``commit(_:in:)``).
    ///
    /// Each part is written as ``commit(_:in:)`` writes a whole batch: its keys' rows read in
    /// one statement, each plan checked against its row, the new rows inserted with multi-row
    /// statements; the change log numbered on from the part before.
    public func streamedCommit(in namespace: Namespace) -> (any StreamedCommit)? {
        guard (try? checkOpen()) != nil, let group = try? writer else { return nil }
        let parts = SQLiteStreamedCommit.Parts()
        let now = clock()
        let limits = limits
        let begun = group.beginAlone { db in
            defer { parts.stop() }
            try self.withRecordWriter(db, nil, namespace: namespace) { writer in
                while let plans = try parts.next() {
                    if plans.count > 1 { try writer.prefetch(plans.map(\.key)) }
                    for plan in plans { try writer.commit(plan, limits: limits, namespace: namespace, now: now) }
                    // The part's rows go in now, while the batch plans the next.
                    try writer.finish()
                }
            }
        }
        guard let begun else { return nil }
        return SQLiteStreamedCommit(parts: parts, transaction: begun, store: self)
    }
}

/// A commit of ``SQLiteMemoryStore/streamedCommit(in:)``: the parts go to the writer's thread
/// through ``Parts``, and ``finish()`` waits for its transaction.
final class SQLiteStreamedCommit: StreamedCommit {
    /// The parts on their way to the writer's thread, which waits for them.
    final class Parts: Sendable {
        private struct State {
            var plans: [WritePlan] = []
            /// No more parts: commit.
            var finished = false
            /// Dropped unfinished: roll back.
            var abandoned = false
            /// The writer stopped (a plan failed, or it ended): parts are dropped.
            var stopped = false
        }

        private let state = Locked(State())
        /// Signalled once for each part and for the end; the writer waits on it when it has
        /// taken every part sent.
        private let arrived = DispatchSemaphore(value: 0)

        /// The batch gave up the commit (dropped it unfinished).
        struct Abandoned: Error {}

        func send(_ plans: [WritePlan]) {
            let taken = state.withLock { state -> Bool in
                guard !state.stopped, !state.finished, !state.abandoned else { return false }
                state.plans += plans
                return true
            }
            if taken { arrived.signal() }
        }

        /// Ends the parts: `abandoned`, the transaction rolls back (unless they were finished
        /// already), else it commits.
        func end(abandoned: Bool) {
            state.withLock { state in
                if !abandoned {
                    state.finished = true
                } else if !state.finished {
                    state.abandoned = true
                }
            }
            arrived.signal()
        }

        /// Every plan sent since the last call (several parts together when the writer fell
        /// behind), waiting for one when none is there; `nil` at the end. Throws when the batch
        /// abandoned the commit.
        func next() throws(Abandoned) -> [WritePlan]? {
            while true {
                let taken = state.withLock { state -> (plans: [WritePlan], end: Bool, abandoned: Bool) in
                    defer { state.plans = [] }
                    return (state.plans, state.finished, state.abandoned)
                }
                if taken.abandoned { throw Abandoned() }
                if !taken.plans.isEmpty { return taken.plans }
                if taken.end { return nil }
                arrived.wait()
            }
        }

        /// The writer is done with the parts.
        func stop() {
            state.withLock { state in
                state.stopped = true
                state.plans = []
            }
        }
    }

    private let parts: Parts
    private let transaction: AloneTransaction<Void>
    private let store: SQLiteMemoryStore

    init(parts: Parts, transaction: AloneTransaction<Void>, store: SQLiteMemoryStore) {
        self.parts = parts
        self.transaction = transaction
        self.store = store
    }

    /// Dropped unfinished: the transaction rolls back (after ``finish()``, nothing happens).
    deinit {
        parts.end(abandoned: true)
    }

    func send(_ plans: [WritePlan]) {
        parts.send(plans)
    }

    func finish() async throws {
        parts.end(abandoned: false)
        do {
            try await transaction.value()
        } catch {
            throw store.writeFailure(error)
        }
    }
}

/// A transaction of ``GroupCommitWriter/beginAlone(_:)``, running on its own thread.
final class AloneTransaction<T: Sendable>: Sendable {
    private struct State {
        var result: Result<T, any Error>?
        var waiter: CheckedContinuation<T, any Error>?
    }

    private let state = Locked(State())

    /// The transaction's work returned (committed) or threw (rolled back).
    func end(_ result: Result<T, any Error>) {
        let waiter = state.withLock { state -> CheckedContinuation<T, any Error>? in
            state.result = result
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(with: result)
    }

    /// What the work returned, once committed; throws what it or the commit threw.
    func value() async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let result = state.withLock { state -> Result<T, any Error>? in
                if state.result == nil { state.waiter = continuation }
                return state.result
            }
            if let result { continuation.resume(with: result) }
        }
    }
}
