import AgentMemory
import AgentMemoryLocations
import Foundation
import Testing

/// Eight processes write one namespace at once: each puts keys of its own and increments one
/// shared counter by compare-and-set. `RELIABILITY_ROUNDS` sets the rounds per process.
@Suite("Contention: eight processes, one namespace", .serialized)
struct ContentionTests {
    let rounds = trials("RELIABILITY_ROUNDS", short: 150)

    /// Runs the eight writers against `location` while `disturb` runs; returns their children.
    func runWriters(_ location: String, namespace: String, disturb: (@Sendable () async -> Void)? = nil) async throws -> [Child] {
        let children = try (0..<8).map { index in
            try Child.start(["increment", location, namespace, "counter", String(rounds), "w\(index)-"])
        }
        let disturber = disturb.map { body in Task { await body() } }
        for child in children { try await child.wait() }
        disturber?.cancel()
        _ = await disturber?.value
        return children
    }

    @Test("SQLite: no 'database is locked' reaches a caller, no update is lost")
    func sqlite() async throws {
        let folder = try scratchDirectory("contention")
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("memory.sqlite").path
        let children = try await runWriters("sqlite:" + path, namespace: "crew")
        for child in children {
            #expect(child.process.terminationStatus == 0, "\(child.errors)")
            #expect(!child.lines.contains { $0.hasPrefix("doubt") }, "\(child.lines.filter { $0.hasPrefix("doubt") })")
            #expect(!child.errors.localizedCaseInsensitiveContains("locked"))
        }
        let store = try SQLiteMemoryStore(path: path)
        let namespace = try Namespace("crew")
        #expect(try await store.get("counter", in: namespace)?.value == .int(8 * rounds))
        #expect(try await store.allRecords(in: namespace, prefix: "w").count == 8 * rounds)
        #expect(try integrityCheck(path) == "ok")
    }

    @Test("PostgreSQL: backends killed mid-run; every acknowledged write present, the counter never wrong")
    func postgres() async throws {
        guard let url = ProcessInfo.processInfo.environment["AGENT_MEMORY_TEST_POSTGRES_URL"], !url.isEmpty else {
            print("ContentionTests.postgres skipped: set AGENT_MEMORY_TEST_POSTGRES_URL (.ci/run does) to run it")
            return
        }
        let namespace = "contention-\(UUID().uuidString.prefix(8).lowercased())"
        let terminated = TerminationCount()
        let children = try await runWriters(url, namespace: namespace) {
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(400))
                if await terminateBackends(url) { await terminated.add() }
            }
        }
        var acknowledged = 0, doubtful = 0
        for child in children {
            #expect(child.process.terminationStatus == 0, "\(child.errors)")
            acknowledged += child.acks.count
            doubtful += child.lines.filter { $0.hasPrefix("doubt") }.count
        }
        #expect(acknowledged == 8 * rounds)
        let store = try StoreLocation(parsing: url).open()
        let counter = try await store.get("counter", in: try Namespace(namespace))?.value.intValue ?? 0
        // A commit whose answer was lost with its connection may have counted once more.
        #expect(counter >= acknowledged && counter <= acknowledged + doubtful, "counter \(counter), \(acknowledged) acknowledged, \(doubtful) in doubt")
        #expect(try await store.allRecords(in: try Namespace(namespace), prefix: "w").count == 8 * rounds)
        print("ContentionTests.postgres: \(await terminated.count) rounds of pg_terminate_backend, \(doubtful) calls in doubt, counter \(counter)")
    }
}

actor TerminationCount {
    var count = 0
    func add() { count += 1 }
}

/// Kills every other backend of the database with `pg_terminate_backend` (through psql).
func terminateBackends(_ url: String) async -> Bool {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["psql", url, "-qAtc", "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND datname = current_database() AND backend_type = 'client backend'"]
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    do { try process.run() } catch { return false }
    while process.isRunning { try? await Task.sleep(for: .milliseconds(5)) }
    return process.terminationStatus == 0
}
