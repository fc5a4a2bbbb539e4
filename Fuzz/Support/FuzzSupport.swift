// Shared by every fuzz target (compiled into each by scripts/reliability/fuzz.sh).
import Foundation

/// Holds a result handed from a task to the thread that waits for it.
final class ResultBox<T>: @unchecked Sendable {
    var value: T?
}

/// Runs async code from libFuzzer's synchronous callback and waits for its result.
func runBlocking<T: Sendable>(_ body: @escaping @Sendable () async -> T) -> T {
    let box = ResultBox<T>()
    let done = DispatchSemaphore(value: 0)
    Task.detached {
        box.value = await body()
        done.signal()
    }
    done.wait()
    return box.value!
}

/// Stops the fuzzer with a message: libFuzzer saves the input that broke the property.
func violated(_ message: @autoclosure () -> String) -> Never {
    fatalError("property violated: \(message())")
}

/// The fuzzer's input as bytes.
func bytes(_ data: UnsafePointer<UInt8>, _ size: Int) -> [UInt8] {
    Array(UnsafeBufferPointer(start: data, count: size))
}
