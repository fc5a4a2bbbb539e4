import Foundation
import TestScratch

/// The built `agent-memory` binary, run as a user runs it, with a fresh AGENT_MEMORY_HOME.
struct AgentMemoryProcess {
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The binary: beside the test bundle, else in `.build/debug`.
    static let executable: URL = {
        var candidates = [URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()]
        if let bundle = Bundle.allBundles.first(where: { $0.bundlePath.hasSuffix(".xctest") }) {
            candidates.append(bundle.bundleURL.deletingLastPathComponent())
        }
        candidates.append(packageRoot.appendingPathComponent(".build/debug"))
        let folder = candidates.first { FileManager.default.isExecutableFile(atPath: $0.appendingPathComponent("agent-memory").path) }
            ?? candidates[0]
        return folder.appendingPathComponent("agent-memory")
    }()

    let home: URL
    let process = ChildProcess()
    let stdin = Pipe()
    let stdout = Pipe()
    let stderr: URL

    /// Starts `agent-memory ARGUMENTS` with pipes on stdin and stdout and stderr to a file.
    init(_ arguments: [String]) throws {
        home = Scratch.directory("mcp")
        stderr = home.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: stderr.path, contents: nil)
        var environment = ProcessInfo.processInfo.environment
        environment["AGENT_MEMORY_HOME"] = home.path
        for name in ["AGENT_MEMORY_STORE", "AGENT_MEMORY_NAMESPACE", "AGENT_MEMORY_AGENT"] { environment[name] = nil }
        process.executableURL = Self.executable
        process.arguments = arguments
        process.environment = environment
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = try FileHandle(forWritingTo: stderr)
        try process.run()
    }

    /// Waits for the process to exit (polling, so no thread of the cooperative pool blocks).
    func waitForExit() async throws -> Int32 {
        while process.isRunning { try await Task.sleep(for: .milliseconds(5)) }
        return process.terminationStatus
    }

    /// What the process wrote to stderr.
    var errorOutput: String { String(decoding: (try? Data(contentsOf: stderr)) ?? Data(), as: UTF8.self) }

    /// Runs `agent-memory ARGUMENTS` to the end with the same home; returns status and stdout.
    func run(_ arguments: [String]) async throws -> (status: Int32, stdout: String) {
        let process = ChildProcess()
        let output = home.appendingPathComponent("stdout-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        process.executableURL = Self.executable
        process.arguments = arguments
        process.environment = self.process.environment
        process.standardOutput = try FileHandle(forWritingTo: output)
        process.standardError = FileHandle.nullDevice
        try process.run()
        while process.isRunning { try await Task.sleep(for: .milliseconds(5)) }
        return (process.terminationStatus, String(decoding: try Data(contentsOf: output), as: UTF8.self))
    }
}
