#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A value behind a POSIX mutex, for the package's shared state.
///
/// The package uses this instead of `Synchronization.Mutex`. On Linux, `Mutex` locks with futex
/// calls inside the uninstrumented standard library, so ThreadSanitizer sees no ordering between
/// two critical sections of one `Mutex` and reports the state they share as a race. CI runs the
/// store, executor and loop suites under ThreadSanitizer with `halt_on_error`, and these false
/// reports failed it at random. ThreadSanitizer intercepts `pthread_mutex_lock` and
/// `pthread_mutex_unlock`, so a lock taken here is an ordering it understands, and a report is
/// then a real race. Uncontended, both locks cost tens of nanoseconds.
package final class Locked<Value>: @unchecked Sendable {
    // The mutex lives at a fixed address of its own: a pthread mutex must not move.
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private var value: Value

    /// Creates the lock around `value`.
    package init(_ value: Value) {
        self.value = value
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        let status = pthread_mutex_init(mutex, nil)
        precondition(status == 0, "pthread_mutex_init failed with \(status)")
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deinitialize(count: 1)
        mutex.deallocate()
    }

    /// Runs `body` with the value while holding the lock, and returns what it returns.
    package func withLock<Result, Failure: Error>(_ body: (inout Value) throws(Failure) -> Result) throws(Failure) -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }

    /// Runs `body` with the value if the lock is free now, and returns what it returns; `nil`
    /// when another thread holds the lock (it does not wait).
    package func withLockIfAvailable<Result, Failure: Error>(
        _ body: (inout Value) throws(Failure) -> Result
    ) throws(Failure) -> Result? {
        guard pthread_mutex_trylock(mutex) == 0 else { return nil }
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }
}
