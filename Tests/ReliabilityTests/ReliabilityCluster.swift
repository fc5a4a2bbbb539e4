import Foundation
import TestScratch

/// A PostgreSQL cluster of the test's own (initdb, pg_ctl), for what the shared test server
/// must not undergo: a restart in the middle of a run. Started on 127.0.0.1 at a free port,
/// in a temporary folder deleted by ``stop()``; as root, the server runs as `postgres`.
final class ReliabilityCluster: Sendable {
    let folder: URL
    let port: Int
    let binaries: String
    let asRoot: Bool

    /// The store URL of the cluster's `postgres` database.
    var url: String { "postgres://postgres@127.0.0.1:\(port)/postgres" }

    /// Why ``start()`` found no way to run a cluster.
    static let unavailableReason = "no PostgreSQL server binaries (initdb, pg_ctl) in /usr/lib/postgresql/*/bin"

    private init(folder: URL, port: Int, binaries: String, asRoot: Bool) {
        self.folder = folder
        self.port = port
        self.binaries = binaries
        self.asRoot = asRoot
    }

    /// A running cluster; `nil` when the server binaries are not installed.
    static func start() async throws -> ReliabilityCluster? {
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
        guard let version = versions.compactMap(Int.init).max() else { return nil }
        let binaries = "/usr/lib/postgresql/\(version)/bin"
        guard FileManager.default.isExecutableFile(atPath: binaries + "/initdb") else { return nil }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("reliability-pg-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let asRoot = getuid() == 0
        if asRoot { try FileManager.default.setAttributes([.ownerAccountName: "postgres"], ofItemAtPath: folder.path) }
        let cluster = ReliabilityCluster(folder: folder, port: try await freePort(), binaries: binaries, asRoot: asRoot)
        do {
            try await cluster.run("initdb", ["-D", cluster.data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"])
            try await cluster.run("pg_ctl", [
                "-D", cluster.data, "-l", cluster.log, "-w", "-o",
                "-c listen_addresses=127.0.0.1 -p \(cluster.port) -k \(folder.path)", "start",
            ])
        } catch {
            await cluster.stop()
            throw error
        }
        return cluster
    }

    private var data: String { folder.appendingPathComponent("data").path }
    private var log: String { folder.appendingPathComponent("server.log").path }

    /// `pg_ctl restart -m fast`: every session is ended; the server is back when this returns.
    func restart() async throws {
        try await run("pg_ctl", ["-D", data, "-l", log, "-m", "fast", "-w", "restart"])
    }

    /// Stops the server and deletes its folder.
    func stop() async {
        try? await run("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"])
        try? FileManager.default.removeItem(at: folder)
    }

    private func run(_ program: String, _ arguments: [String]) async throws {
        let process = ChildProcess()
        if asRoot {
            process.executableURL = URL(fileURLWithPath: "/usr/sbin/runuser")
            process.arguments = ["-u", "postgres", "--", "\(binaries)/\(program)"] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: "\(binaries)/\(program)")
            process.arguments = arguments
        }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let exitCode = try await process.exitStatus()
        guard exitCode == 0 else {
            throw ReliabilityClusterError(description: "\(program) \(arguments.joined(separator: " ")) exited with status \(exitCode)")
        }
    }

    /// A TCP port on 127.0.0.1 that was free a moment ago (python3 binds port 0 and prints it).
    private static func freePort() async throws -> Int {
        let process = ChildProcess()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])"]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        _ = try await process.exitStatus()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        guard let port = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw ReliabilityClusterError(description: "cannot find a free port: \(text)")
        }
        return port
    }
}

/// A command of ``ReliabilityCluster`` failed.
struct ReliabilityClusterError: Error, CustomStringConvertible {
    let description: String
}
