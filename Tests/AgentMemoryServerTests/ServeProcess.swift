import Foundation
import Testing
import TestScratch

/// An `agent-memory serve` process, as a user runs it: started with arguments, its port read
/// from the line it prints, stopped with a signal.
final class ServeProcess: @unchecked Sendable {
    let process = ChildProcess()
    let output: URL
    let errors: URL
    private(set) var port = 0

    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The built `agent-memory` beside the test bundle (or in .build/debug).
    static let executable: URL = {
        var candidates = [URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()]
        if let bundle = Bundle.allBundles.first(where: { $0.bundlePath.hasSuffix(".xctest") }) {
            candidates.append(bundle.bundleURL.deletingLastPathComponent())
        }
        candidates.append(packageRoot.appendingPathComponent(".build/debug"))
        let folder = candidates.first { FileManager.default.isExecutableFile(atPath: $0.appendingPathComponent("agent-memory").path) }
        return (folder ?? candidates[0]).appendingPathComponent("agent-memory")
    }()

    /// Starts `agent-memory ARGUMENTS` with a private AGENT_MEMORY_HOME.
    init(_ arguments: [String]) throws {
        let home = Scratch.directory("serve")
        output = home.appendingPathComponent("stdout")
        errors = home.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errors.path, contents: nil)
        var environment = ProcessInfo.processInfo.environment
        environment["AGENT_MEMORY_HOME"] = home.path
        for name in ["AGENT_MEMORY_STORE", "AGENT_MEMORY_NAMESPACE", "AGENT_MEMORY_AGENT"] { environment[name] = nil }
        process.executableURL = Self.executable
        process.arguments = arguments
        process.environment = environment
        process.standardOutput = try FileHandle(forWritingTo: output)
        process.standardError = try FileHandle(forWritingTo: errors)
        try process.run()
    }

    /// A test that throws before ``stop(signal:)`` leaves no server running.
    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    var stdout: String { (try? String(contentsOf: output, encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOf: errors, encoding: .utf8)) ?? "" }

    /// Waits for the "serving http://HOST:PORT" line and returns a client for it; throws with
    /// the process's stderr when it exits first.
    func client(token: String? = nil) async throws -> HTTPTestClient {
        while port == 0 {
            if let range = stdout.range(of: #"serving http://127\.0\.0\.1:(\d+)"#, options: .regularExpression) {
                port = Int(stdout[range].split(separator: ":").last ?? "") ?? 0
            } else if !process.isRunning {
                throw TestSocketError(description: "agent-memory serve exited with \(process.terminationStatus): \(stderr)")
            } else {
                try await Task.sleep(for: .milliseconds(20))
            }
        }
        return HTTPTestClient(port: port, token: token)
    }

    /// Sends `signal` and waits for the exit status.
    func stop(signal: Int32 = SIGTERM) async throws -> Int32 {
        if process.isRunning { kill(process.processIdentifier, signal) }
        return try await exitStatus()
    }

    /// Waits for the process to exit, polling so no cooperative thread blocks.
    func exitStatus() async throws -> Int32 {
        while process.isRunning { try await Task.sleep(for: .milliseconds(10)) }
        return process.terminationStatus
    }
}
