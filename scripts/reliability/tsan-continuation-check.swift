// The check behind the two lines of tsan-suppressions.txt (run by sanitizers.sh thread).
//
//   gap      a continuation resumed on another thread before its task reaches the await. The
//            Swift runtime (swift_continuation_awaitImpl) then continues the task without telling
//            ThreadSanitizer of the resume's release, so the task's read of the result is reported
//            as a race with the resumer's write: a false positive of the runtime, not of the code.
//   control  a real race on a variable, written inside the body of withUnsafeThrowingContinuation
//            and on another thread: the suppressions match only a report's top frame, so this one
//            must still be reported.
//
// Built with `swiftc -parse-as-library -sanitize=thread -Onone`.
import Foundation

/// An unsynchronized counter, shared on purpose by the control's two threads.
final class Unguarded: @unchecked Sendable {
    /// Written by both threads without a lock.
    var count = 0
}

@main
struct TSanContinuationCheck {
    static func main() async throws {
        switch CommandLine.arguments.dropFirst().first {
        case "gap": try await gap()
        case "control": try await control()
        default:
            FileHandle.standardError.write(Data("usage: tsan-continuation-check gap|control\n".utf8))
            exit(2)
        }
        print("done")
    }

    /// Resumes each continuation on a new thread while its task still sleeps in the body.
    static func gap() async throws {
        for round in 0..<8 {
            let pair: [Int] = try await withUnsafeThrowingContinuation { continuation in
                Thread { continuation.resume(returning: [round, round + 1]) }.start()
                usleep(2_000)
            }
            let single: [Int] = await withUnsafeContinuation { continuation in
                Thread { continuation.resume(returning: [round]) }.start()
                usleep(2_000)
            }
            guard pair == [round, round + 1], single == [round] else { fatalError("wrong result") }
        }
    }

    /// Races on one counter from the continuation's body and from the resuming thread.
    static func control() async throws {
        let shared = Unguarded()
        let _: Int = try await withUnsafeThrowingContinuation { continuation in
            Thread {
                shared.count += 1
                continuation.resume(returning: 0)
            }.start()
            shared.count += 1
            usleep(2_000)
        }
    }
}
