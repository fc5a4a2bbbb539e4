// Shared by every fuzz target (compiled into each by scripts/reliability/fuzz.sh).
import Foundation
import Synchronization

/// Runs async code from libFuzzer's synchronous callback on the calling thread and returns its
/// result.
///
/// The task prefers an executor whose jobs this thread runs itself (SE-0417: default actors
/// such as the in-memory store run on the task's preferred executor too), so no job hops to
/// the global pool and the task is torn down (freed) on this thread before the call returns.
/// That matters for speed: libFuzzer counts mallocs and frees during each input and, when an
/// input ends with more mallocs than frees, runs it again and then a full LeakSanitizer scan.
/// A detached task waited for with a semaphore was still being freed on a pool thread when the
/// callback returned, so inputs looked leaky at random and those scans took most of the time.
func runBlocking<T: Sendable>(_ body: @escaping @Sendable () async -> T) -> T {
    let executor = CallingThreadExecutor()
    let box = ResultBox<T>()
    do {
        let task = Task(executorPreference: executor) { box.value = await body() }
        _ = consume task  // the handle is dropped here; the task frees itself when it ends
    }
    executor.run(until: { box.value != nil })
    return box.value!
}

/// A task executor whose jobs run on the thread that calls `run(until:)`. Jobs may be enqueued
/// from any thread (a continuation resumed elsewhere); the runner sleeps until one arrives.
final class CallingThreadExecutor: TaskExecutor, @unchecked Sendable {
    private let jobs = Mutex<[UnownedJob]>([])
    private let arrived = DispatchSemaphore(value: 0)

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        jobs.withLock { $0.append(job) }
        arrived.signal()
    }

    /// Runs jobs until `done` holds and none is left.
    func run(until done: () -> Bool) {
        while true {
            let next = jobs.withLock { $0.isEmpty ? nil : $0.removeFirst() }
            if let next {
                next.runSynchronously(on: asUnownedTaskExecutor())
                continue
            }
            if done() { return }
            arrived.wait()
        }
    }
}

/// Holds a result handed from a task to the thread that waits for it.
final class ResultBox<T>: @unchecked Sendable {
    var value: T?
}

/// Stops the fuzzer with a message: libFuzzer saves the input that broke the property.
func violated(_ message: @autoclosure () -> String) -> Never {
    fatalError("property violated: \(message())")
}

/// The fuzzer's input as bytes.
func bytes(_ data: UnsafePointer<UInt8>, _ size: Int) -> [UInt8] {
    Array(UnsafeBufferPointer(start: data, count: size))
}
