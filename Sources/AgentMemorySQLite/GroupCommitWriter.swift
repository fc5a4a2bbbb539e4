import GRDB
import Synchronization

/// Group commit: writes that arrive while a transaction is being written and synced wait
/// together, then run in the next transaction, each in its own savepoint, and are all
/// acknowledged after that transaction commits.
///
/// Durability is unchanged (no write returns before the commit that holds it is on disk), but
/// sixteen concurrent writers cost one fsync instead of sixteen. A write that fails (a version
/// conflict, a limit) rolls back its own savepoint only; a commit that fails fails every write
/// in it.
final class GroupCommitWriter: Sendable {
    private struct Job: Sendable {
        let work: @Sendable (Database) throws -> any Sendable
        let continuation: CheckedContinuation<any Sendable, any Error>
    }

    private struct State {
        var pending: [Job] = []
        var draining = false
    }

    private let pool: DatabasePool
    private let state = Mutex(State())
    /// The most writes one transaction takes (bounds the time a write waits behind others).
    private let maximumBatch: Int

    init(pool: DatabasePool, maximumBatch: Int = 512) {
        self.pool = pool
        self.maximumBatch = maximumBatch
    }

    /// Runs `work` in a write transaction shared with concurrent writes; returns after commit.
    func write<T: Sendable>(_ work: @escaping @Sendable (Database) throws -> T) async throws -> T {
        let result = try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<any Sendable, any Error>) in
            let job = Job(work: { db in try work(db) }, continuation: continuation)
            let startDraining = state.withLock { state -> Bool in
                state.pending.append(job)
                guard !state.draining else { return false }
                state.draining = true
                return true
            }
            if startDraining {
                Task { await self.drain() }
            }
        }
        // The job was made from `work`, whose result is a T.
        return result as! T
    }

    private func drain() async {
        while true {
            let jobs = state.withLock { state -> [Job] in
                guard !state.pending.isEmpty else {
                    state.draining = false
                    return []
                }
                let taken = Array(state.pending.prefix(maximumBatch))
                state.pending.removeFirst(taken.count)
                return taken
            }
            guard !jobs.isEmpty else { return }
            var results: [Result<any Sendable, any Error>]
            do {
                results = try await pool.write { db in
                    if jobs.count == 1 {
                        // Alone: the transaction itself is the savepoint (a throw rolls it back).
                        return [.success(try jobs[0].work(db))]
                    }
                    return jobs.map { job in
                        Result {
                            var value: (any Sendable)?
                            try db.inSavepoint {
                                value = try job.work(db)
                                return .commit
                            }
                            return value!
                        }
                    }
                }
            } catch {
                results = jobs.map { _ in .failure(error) }
            }
            for (job, result) in zip(jobs, results) {
                job.continuation.resume(with: result)
            }
        }
    }
}
