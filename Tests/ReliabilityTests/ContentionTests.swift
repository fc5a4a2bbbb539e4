import AgentMemoryJSON
import AgentMemory
import AgentMemoryRuntime
import AgentMemoryTesting
import Foundation
import Testing
import TestScratch

/// Eight processes write one namespace at once: each puts keys of its own and increments one
/// shared counter by compare-and-set. `RELIABILITY_ROUNDS` sets the rounds per process.
@Suite("Contention: eight processes, one namespace", .serialized)
struct ContentionTests {
    let rounds = trials("RELIABILITY_ROUNDS", short: 150)

    /// Runs the eight writers against `location` until they finish; returns them.
    func runWriters(_ location: String, namespace: String) async throws -> [Child] {
        let children = try (0..<8).map { index in
            try Child.start(["increment", location, namespace, "counter", String(rounds), "w\(index)-"])
        }
        for child in children { try await child.wait() }
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
        for child in children { child.removeOutput() }
    }

    /// After `pg_terminate_backend` a store call used to hang for ever (a statement sent on a
    /// connection the server had closed never completed: RELIABILITY.md, defect 3, fixed by
    /// `StatementGuard`). The writers still get a deadline, so that a regression fails the
    /// test instead of hanging it.
    @Test("PostgreSQL: backends killed mid-run; every acknowledged write present, the counter never wrong")
    func postgres() async throws {
        guard let serverURL = ProcessInfo.processInfo.environment["AGENT_MEMORY_TEST_POSTGRES_URL"], !serverURL.isEmpty else {
            print("ContentionTests.postgres skipped: set AGENT_MEMORY_TEST_POSTGRES_URL (.ci/run does) to run it")
            return
        }
        // A database of its own: the backends killed below are only this test's, never those
        // of the other PostgreSQL tests running at the same time on the same server.
        let database = "reliability_\(UUID().uuidString.prefix(8).lowercased())"
        #expect(await runPSQL(serverURL, "CREATE DATABASE \(database)"))
        let url = try #require(Self.url(serverURL, database: database))
        defer { Task { _ = await runPSQL(serverURL, "DROP DATABASE IF EXISTS \(database) WITH (FORCE)") } }
        let namespace = "contention-\(UUID().uuidString.prefix(8).lowercased())"
        let children = try (0..<8).map { index in
            try Child.start(["increment", url, namespace, "counter", String(rounds), "w\(index)-"])
        }
        // Kill every backend ten times, 400 ms apart, while the writers run.
        var terminations = 0
        for _ in 0..<10 {
            try await Task.sleep(for: .milliseconds(400))
            if await terminateBackends(url) { terminations += 1 }
        }
        let summary = try await checkPostgresWriters(children, url: url, namespace: namespace)
        print("ContentionTests.postgres: \(terminations) rounds of pg_terminate_backend, \(summary)")
    }

    @Test("PostgreSQL: the server restarted mid-run (pg_ctl restart -m fast); every acknowledged write present, the counter never wrong")
    func postgresRestart() async throws {
        guard let cluster = try await ReliabilityCluster.start() else {
            print("ContentionTests.postgresRestart skipped: \(ReliabilityCluster.unavailableReason)")
            return
        }
        do {
            try await restartRun(cluster)
        } catch {
            await cluster.stop()
            throw error
        }
        await cluster.stop()
    }

    private func restartRun(_ cluster: ReliabilityCluster) async throws {
        let namespace = "restart-\(UUID().uuidString.prefix(8).lowercased())"
        let children = try (0..<8).map { index in
            try Child.start(["increment", cluster.url, namespace, "counter", String(rounds), "w\(index)-"])
        }
        // Restart twice while the writers run, once each has had time to start writing.
        var restarts = 0
        for _ in 0..<2 {
            try await Task.sleep(for: .milliseconds(1_500))
            guard children.contains(where: { $0.process.isRunning }) else { break }
            try await cluster.restart()
            restarts += 1
        }
        let summary = try await checkPostgresWriters(children, url: cluster.url, namespace: namespace)
        print("ContentionTests.postgresRestart: \(restarts) restarts, \(summary)")
    }

    /// Waits for the writers, then checks that none hung, every acknowledged key is present,
    /// and the counter is within what was acknowledged and what was in doubt; returns a
    /// summary. A writer counts as hung when no writer has printed anything for
    /// `RELIABILITY_PG_STALL` seconds (default 60, twice the store's statement timeout,
    /// stretched by AGENT_MEMORY_TEST_TIME_SCALE): a stall, not a speed, so a slow machine does
    /// not fail the test.
    func checkPostgresWriters(_ children: [Child], url: String, namespace: String) async throws -> String {
        let stall = Duration.seconds(trials("RELIABILITY_PG_STALL", short: Int(TestTimeScale.seconds(60))))
        var lastProgress = ContinuousClock.now
        var printed = -1
        while children.contains(where: { $0.process.isRunning }) && ContinuousClock.now - lastProgress < stall {
            let now = children.reduce(0) { $0 + $1.lines.count }
            if now != printed {
                printed = now
                lastProgress = ContinuousClock.now
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        let hung = children.filter { $0.process.isRunning }
        for child in hung { try await child.kill() }
        #expect(hung.count == 0, "\(hung.count) of \(children.count) writers stalled for \(stall)")
        var acknowledged = 0, doubtful = 0
        for child in children {
            if !hung.contains(where: { $0.process === child.process }) {
                #expect(child.process.terminationStatus == 0, "\(child.errors)")
            }
            acknowledged += child.acks.count
            doubtful += child.lines.filter { $0.hasPrefix("doubt") }.count
        }
        let store = try StoreLocation(parsing: url).open()
        let counter = try await store.get("counter", in: try Namespace(namespace))?.value.intValue ?? 0
        // A commit whose answer was lost with its connection may have counted once more; a
        // writer killed after its deadline may have committed one unacknowledged increment.
        #expect(counter >= acknowledged && counter <= acknowledged + doubtful + hung.count, "counter \(counter), \(acknowledged) acknowledged, \(doubtful) in doubt")
        for (index, child) in children.enumerated() {
            for ack in child.acks {
                #expect(try await store.get("w\(index)-\(ack)", in: try Namespace(namespace)) != nil, "acknowledged w\(index)-\(ack) missing")
            }
        }
        try await store.close()
        for child in children { child.removeOutput() }
        return "\(acknowledged) acknowledged, \(doubtful) in doubt, \(hung.count) hung, counter \(counter)"
    }
}

extension ContentionTests {
    /// `url` with its database replaced by `database`.
    static func url(_ url: String, database: String) -> String? {
        guard var components = URLComponents(string: url) else { return nil }
        components.path = "/" + database
        return components.string
    }
}

/// Runs one SQL command through psql; whether it succeeded.
func runPSQL(_ url: String, _ command: String) async -> Bool {
    let process = ChildProcess()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["psql", url, "-qAtc", command]
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    do { try process.run() } catch { return false }
    return (try? await process.exitStatus()) == 0
}

/// Kills every other backend of the database with `pg_terminate_backend` (through psql).
func terminateBackends(_ url: String) async -> Bool {
    let process = ChildProcess()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["psql", url, "-qAtc", "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND datname = current_database() AND backend_type = 'client backend'"]
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    do { try process.run() } catch { return false }
    return (try? await process.exitStatus()) == 0
}
