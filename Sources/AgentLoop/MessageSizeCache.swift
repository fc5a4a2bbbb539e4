import AgentMemoryCore
import ClaudeClient
import ClaudeMessages
import AgentMemoryJSON
import Foundation

/// The JSON sizes of a session's messages as the client-side window measured them, kept
/// between the requests of a loop: saved messages never change, so a window measures each
/// message once instead of the whole conversation for every request.
final class MessageSizeCache: @unchecked Sendable {
    // `@unchecked`: every member is guarded by `lock`.
    private let lock = NSLock()
    private var session = ""
    private var base = -1
    private var original: [Int: Int] = [:]
    private var cleared: [Int: Int] = [:]

    /// The sizes known for the view of `session` that starts at transcript index `base`
    /// (messages as they are, and with their tool results cleared), by transcript index.
    func sizes(session: String, base: Int) -> (original: [Int: Int], cleared: [Int: Int]) {
        lock.withLock {
            guard session == self.session, base == self.base else { return ([:], [:]) }
            return (original, cleared)
        }
    }

    /// Keeps the sizes measured for that view, replacing those of any other view.
    func keep(session: String, base: Int, original: [Int: Int], cleared: [Int: Int]) {
        lock.withLock {
            if session != self.session || base != self.base {
                self.session = session
                self.base = base
                self.original = [:]
                self.cleared = [:]
            }
            self.original.merge(original) { $1 }
            self.cleared.merge(cleared) { $1 }
        }
    }
}
