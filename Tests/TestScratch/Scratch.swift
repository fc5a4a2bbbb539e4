import AgentMemoryCore
import Foundation

/// Folders for the tests' files, all inside one folder per test process that is removed when
/// the process exits.
///
/// Before this, every test that opened a SQLite file or started an `agent-memory` process left
/// its folder in the system's temporary directory: a full run left about 1,500 of them (the
/// search-indexing tests' alone hold 10 MB each), and a developer's `/tmp` grew by gigabytes
/// over a day of runs. A process that crashes leaves its one folder behind
/// (`agent-memory-tests-PID-…`); nothing else does.
public enum Scratch {
    /// This process's folder, made at the first use; its removal is registered with `atexit`.
    private static let root: URL = {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("agent-memory-tests-\(getpid())-\(UUID().uuidString.prefix(8))")
        do {
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        } catch {
            fatalError("the tests' scratch folder \(url.path) could not be made: \(error)")
        }
        // A C function pointer captures nothing, so it finds the folder through `made`.
        made.withLock { $0 = url.path }
        atexit {
            if let path = Scratch.made.withLock({ $0 }) { try? FileManager.default.removeItem(atPath: path) }
        }
        return url
    }()

    /// The root's path once made, for the exit handler.
    private static let made = Locked<String?>(nil)

    /// A new, empty folder named after `label`, inside this process's scratch folder.
    public static func directory(_ label: String) -> URL {
        let url = root.appendingPathComponent("\(label)-\(UUID().uuidString)")
        do {
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        } catch {
            fatalError("a scratch folder \(url.path) could not be made: \(error)")
        }
        return url
    }

    /// A path for a new file named `name` (a SQLite store's, say) in a folder of its own named
    /// after `label`; the file itself is not made.
    public static func file(_ label: String, named name: String = "memory.sqlite") -> String {
        directory(label).appendingPathComponent(name).path
    }
}
