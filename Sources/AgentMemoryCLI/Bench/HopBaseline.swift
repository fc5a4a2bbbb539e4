import Dispatch
import Foundation

/// The cost of one async call onto a serial `DispatchQueue` and back, with no work: what
/// GRDB's async `read` and `write` do around every statement (an actor whose executor is
/// the connection's queue), so a store call can be split into this hop and the SQL itself.
actor DispatchQueueHop {
    private let executor: QueueExecutor

    init() { executor = QueueExecutor(queue: DispatchQueue(label: "bench.hop")) }

    nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    private var calls = 0

    func touch() -> Int {
        calls += 1
        return calls
    }

    private final class QueueExecutor: SerialExecutor {
        let queue: DispatchQueue

        init(queue: DispatchQueue) { self.queue = queue }

        func enqueue(_ job: UnownedJob) {
            queue.async { job.runSynchronously(on: self.asUnownedSerialExecutor()) }
        }
    }
}

extension StoreBenchmarks {
    /// Awaits ``DispatchQueueHop/touch()`` repeatedly from a task on the cooperative pool.
    func dispatchHop() async throws -> BenchMeasurement {
        let hop = DispatchQueueHop()
        return try await measureSequential(
            "baseline: await a DispatchQueue actor, no SQL", store: "", iterations: plan.gets, budget: plan.budget,
            note: "the hop GRDB's async read/write makes per call"
        ) { _ in
            _ = await hop.touch()
        }
    }
}
