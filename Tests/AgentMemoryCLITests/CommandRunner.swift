import AgentMemoryJSON
import Foundation
import Testing
import TestScratch

/// Runs the built executables as a user would: arguments, stdin, environment in; exit status,
/// stdout and stderr out.
struct CommandRunner {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// A fresh AGENT_MEMORY_HOME for each runner, so tests never touch the user's memory.
    let home: URL

    init() {
        home = Scratch.directory("cli")
    }

    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The folder holding the built products: beside the test bundle.
    static let productsDirectory: URL = {
        var candidates = [URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()]
        if let bundle = Bundle.allBundles.first(where: { $0.bundlePath.hasSuffix(".xctest") }) {
            candidates.append(bundle.bundleURL.deletingLastPathComponent())
        }
        candidates.append(packageRoot.appendingPathComponent(".build/debug"))
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.appendingPathComponent("agent-memory").path) }
            ?? candidates[0]
    }()

    static func executable(_ name: String) -> URL { productsDirectory.appendingPathComponent(name) }

    var environment: [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment["AGENT_MEMORY_HOME"] = home.path
        for name in ["AGENT_MEMORY_STORE", "AGENT_MEMORY_NAMESPACE", "AGENT_MEMORY_AGENT"] {
            environment[name] = nil
        }
        return environment
    }

    /// Starts a program without waiting for it.
    /// `standardOutput`, when given, receives stdout instead of the file the result reads.
    func start(
        _ program: String, _ arguments: [String], stdin: String = "", extraEnvironment: [String: String] = [:],
        standardOutput: FileHandle? = nil
    ) throws -> (ChildProcess, URL, URL) {
        let process = ChildProcess()
        process.executableURL = Self.executable(program)
        process.arguments = arguments
        process.environment = environment.merging(extraEnvironment) { $1 }
        let id = UUID().uuidString
        let input = home.appendingPathComponent("stdin-\(id)")
        let output = home.appendingPathComponent("stdout-\(id)")
        let errors = home.appendingPathComponent("stderr-\(id)")
        try Data(stdin.utf8).write(to: input)
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errors.path, contents: nil)
        process.standardInput = try FileHandle(forReadingFrom: input)
        process.standardOutput = try standardOutput ?? FileHandle(forWritingTo: output)
        process.standardError = try FileHandle(forWritingTo: errors)
        try process.run()
        return (process, output, errors)
    }

    /// Waits for the program to exit without blocking a thread of the cooperative pool (the
    /// other suites' async tests share those threads).
    func finish(_ started: (ChildProcess, URL, URL)) async throws -> Result {
        while started.0.isRunning {
            try await Task.sleep(for: .milliseconds(5))
        }
        return Result(
            status: started.0.terminationStatus,
            stdout: String(decoding: try Data(contentsOf: started.1), as: UTF8.self),
            stderr: String(decoding: try Data(contentsOf: started.2), as: UTF8.self))
    }

    @discardableResult
    func run(_ arguments: [String], stdin: String = "", extraEnvironment: [String: String] = [:]) async throws -> Result {
        try await finish(start("agent-memory", arguments, stdin: stdin, extraEnvironment: extraEnvironment))
    }
}
