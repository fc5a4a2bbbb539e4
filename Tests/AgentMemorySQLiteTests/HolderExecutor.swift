import Dispatch

/// Runs the tasks that prefer it on a serial Dispatch queue of its own, off Swift's cooperative
/// pool.
///
/// The tests that hold the store's writer inside a transaction (blocked on a semaphore until
/// other writes have queued behind it) start the holding write on this executor. A write that
/// finds no transaction in progress runs its transaction on its own thread (GroupCommitWriter),
/// so a holder on the cooperative pool would block one of its threads; with two cores and tests
/// running in parallel, two holders blocked both, and the writes they wait for never ran. A
/// production write never waits for other tasks inside its transaction.
final class HolderExecutor: TaskExecutor, @unchecked Sendable {
    static let shared = HolderExecutor()

    // Concurrent: several tests may hold a writer of their own at once.
    private let queue = DispatchQueue(label: "AgentMemorySQLiteTests.holder", attributes: .concurrent)

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        queue.async { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
