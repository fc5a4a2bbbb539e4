import AgentMemoryJSON
import Foundation
import GRDB
import Testing
import TestScratch

/// A child process started by a reliability test, with its output captured in files.
struct Child {
    let process: ChildProcess
    let stdout: URL
    let stderr: URL

    /// The folder of the built products (beside the test bundle, else `.build/debug`).
    static let productsDirectory: URL = {
        var candidates = [URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()]
        if let bundle = Bundle.allBundles.first(where: { $0.bundlePath.hasSuffix(".xctest") }) {
            candidates.append(bundle.bundleURL.deletingLastPathComponent())
        }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        candidates.append(root.appendingPathComponent(".build/debug"))
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.appendingPathComponent("ReliabilityChild").path) }
            ?? candidates[0]
    }()

    /// Starts `ReliabilityChild` (or another built program, or the program at `programPath`)
    /// with `arguments`.
    static func start(
        _ arguments: [String], program: String = "ReliabilityChild", programPath: String? = nil, environment: [String: String] = [:]
    ) throws -> Child {
        let process = ChildProcess()
        process.executableURL = programPath.map(URL.init(fileURLWithPath:)) ?? productsDirectory.appendingPathComponent(program)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let folder = Scratch.directory("reliability-child")
        let stdout = folder.appendingPathComponent("stdout"), stderr = folder.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: stdout.path, contents: nil)
        _ = FileManager.default.createFile(atPath: stderr.path, contents: nil)
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = try FileHandle(forWritingTo: stdout)
        process.standardError = try FileHandle(forWritingTo: stderr)
        try process.run()
        return Child(process: process, stdout: stdout, stderr: stderr)
    }

    /// Waits for the child to exit without blocking a thread of the cooperative pool.
    func wait() async throws {
        while process.isRunning { try await Task.sleep(for: .milliseconds(2)) }
    }

    /// Sends SIGKILL and waits for the child to be gone.
    func kill() async throws {
        if process.isRunning { Foundation.kill(process.processIdentifier, SIGKILL) }
        try await wait()
    }

    /// What the child printed on stdout, as lines.
    var lines: [String] {
        let text = (try? String(contentsOf: stdout, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").map(String.init)
    }

    /// The arguments of its complete "ack ..." lines (a line cut by the kill has no newline
    /// and is not an acknowledgement).
    var acks: [String] {
        let text = (try? String(contentsOf: stdout, encoding: .utf8)) ?? ""
        // The last piece is "" after a final newline, else a cut line: dropped either way.
        return text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().filter { $0.hasPrefix("ack") }.map { String($0.dropFirst(4)) }
    }

    /// Deletes the files that hold the child's output.
    func removeOutput() {
        try? FileManager.default.removeItem(at: stdout.deletingLastPathComponent())
    }

    /// What the child printed on stderr.
    var errors: String { (try? String(contentsOf: stderr, encoding: .utf8)) ?? "" }
}

/// A number of trials: `name` from the environment (the long forms in scripts/reliability set
/// it), else `short` (CI).
func trials(_ name: String, short: Int) -> Int {
    ProcessInfo.processInfo.environment[name].flatMap(Int.init) ?? short
}

/// A fresh folder for one test's files.
func scratchDirectory(_ label: String) throws -> URL {
    Scratch.directory("reliability-\(label)")
}

/// SQLite's own verdict on a database file (`ok` when sound), read by a fresh connection.
func integrityCheck(_ path: String) throws -> String {
    let queue = try DatabaseQueue(path: path)
    defer { try? queue.close() }
    return try queue.read { db in try String.fetchAll(db, sql: "PRAGMA integrity_check").joined(separator: "; ") }
}
