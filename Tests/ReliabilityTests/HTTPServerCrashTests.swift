import AgentMemory
import AgentMemoryJSON
import Foundation
import Testing
import TestScratch

/// What the load threads of one trial saw: the keys whose PUT got a 200, and every other status.
final class LoadRecord: Sendable {
    private let state = Locked<(acknowledged: [String], statuses: [Int], stop: Bool, running: Int)>(([], [], false, 0))

    var acknowledged: [String] { state.withLock { $0.acknowledged } }
    var unexpectedStatuses: [Int] { state.withLock { $0.statuses } }
    var running: Int { state.withLock { $0.running } }
    var stopped: Bool { state.withLock { $0.stop } }

    func started() { state.withLock { $0.running += 1 } }
    func finished() { state.withLock { $0.running -= 1 } }
    func stop() { state.withLock { $0.stop = true } }
    func acknowledge(_ key: String) { state.withLock { $0.acknowledged.append(key) } }
    func unexpected(_ status: Int) { state.withLock { $0.statuses.append(status) } }
}

/// `agent-memory serve` on an SQLite file, under a load of PUTs from several connections at
/// once, is killed with SIGKILL at a random moment, again and again on the same file; after
/// every kill each PUT that got a 200 is in the file with its value, `integrity_check` is `ok`,
/// and the restarted server lists it. `RELIABILITY_HTTP_KILLS` sets the kills (long form 200).
@Suite("Crash safety: the HTTP server killed under load", .serialized)
struct HTTPServerCrashTests {
    let kills = trials("RELIABILITY_HTTP_KILLS", short: 4)
    let writers = 4
    let namespace = try! Namespace("http-crash")

    @Test("every PUT answered 200 survives SIGKILL and is served after a restart")
    func putsUnderLoad() async throws {
        let folder = try scratchDirectory("http-crash")
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("memory.sqlite").path
        var generator = SystemRandomNumberGenerator()
        var previous: (trial: Int, acknowledged: [String])?
        var total = 0
        for trial in 0..<kills {
            let server = try await ServeChild.start(["--store", "sqlite:" + path], home: folder)
            if let previous {
                // The restarted server serves every acknowledged PUT of the killed one.
                try await expectListed(previous.acknowledged, trial: previous.trial, port: server.port)
            }
            let load = LoadRecord()
            for writer in 0..<writers {
                let port = server.port, namespaceName = self.namespace.name
                load.started()
                Thread {
                    defer { load.finished() }
                    var index = 0
                    while !load.stopped {
                        let key = "t\(trial)-w\(writer)-\(index)"
                        let body = Array(JSONValue.object(["value": .string("value of \(key)")]).jsonData())
                        guard let response = httpExchange(port: port, method: "PUT", target: Array("/memory/\(namespaceName)/\(key)".utf8), body: body)
                        else { continue }  // the server is gone (or going): not acknowledged
                        if response.status == 200 {
                            load.acknowledge(key)
                        } else {
                            load.unexpected(response.status)
                        }
                        index += 1
                    }
                }.start()
            }
            // Three kills in four land after the first acknowledged PUT (mid-load however slow
            // the machine); the others at any moment after the server said it was listening.
            if trial % 4 != 0 {
                while server.child.process.isRunning && load.acknowledged.isEmpty { try await Task.sleep(for: .milliseconds(1)) }
            }
            try await Task.sleep(for: .milliseconds(Int.random(in: 0...300, using: &generator)))
            #expect(server.child.process.isRunning, "trial \(trial): the server ended before the kill: \(server.child.errors)")
            try await server.child.kill()
            load.stop()
            while load.running > 0 { try await Task.sleep(for: .milliseconds(5)) }
            let acknowledged = load.acknowledged
            total += acknowledged.count
            #expect(load.unexpectedStatuses.isEmpty, "trial \(trial): statuses other than 200 while the server ran: \(load.unexpectedStatuses)")
            #expect(try integrityCheck(path) == "ok", "trial \(trial)")
            do {
                let store = try SQLiteMemoryStore(path: path)
                for key in acknowledged {
                    #expect(try await store.get(key, in: namespace)?.value == .string("value of \(key)"), "trial \(trial): \(key) lost")
                }
                // Besides the acknowledged PUTs, at most one in flight per connection.
                let present = try await store.allRecords(in: namespace, prefix: "t\(trial)-").count
                #expect(present >= acknowledged.count && present <= acknowledged.count + writers, "trial \(trial): \(present) keys, \(acknowledged.count) acknowledged")
            }
            server.child.removeOutput()
            previous = (trial, acknowledged)
        }
        if let previous {
            let server = try await ServeChild.start(["--store", "sqlite:" + path], home: folder)
            try await expectListed(previous.acknowledged, trial: previous.trial, port: server.port)
            try await server.child.kill()
            server.child.removeOutput()
        }
        print("HTTPServerCrashTests.putsUnderLoad: \(kills) kills, \(total) PUTs answered 200, all present")
    }

    /// Lists the trial's keys through the server and expects every acknowledged one.
    func expectListed(_ acknowledged: [String], trial: Int, port: Int) async throws {
        let target = Array("/memory/\(namespace.name)?prefix=t\(trial)-&limit=10000".utf8)
        let response = await onThread { httpExchange(port: port, method: "GET", target: target) }
        let listed = Set((try? JSONValue(parsing: response?.body ?? []))?.objectValue?["keys"]?.arrayValue?.compactMap(\.stringValue) ?? [])
        #expect(response?.status == 200, "trial \(trial): listing after the restart")
        let missing = acknowledged.filter { !listed.contains($0) }
        #expect(missing.isEmpty, "trial \(trial): the restarted server does not list \(missing.prefix(5))")
    }
}
