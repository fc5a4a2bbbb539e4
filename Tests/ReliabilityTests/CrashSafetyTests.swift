import ClaudeMessages
import AgentMemoryJSON
import AgentMemorySQLite
import AgentLoop
import AgentMemory
import AgentMemoryTesting
import ClaudeClient
import Foundation
import GRDB
import Testing
import TestScratch

/// A writer process is killed with SIGKILL at a random moment, again and again on the same
/// file; after every kill each acknowledged write is present, no batch is half applied,
/// `PRAGMA integrity_check` says `ok` and the next process opens the file as it is.
/// `RELIABILITY_KILLS` sets the kills per kind (the long form runs 200).
@Suite("Crash safety: SIGKILL at random moments", .serialized)
struct CrashSafetyTests {
    let kills = trials("RELIABILITY_KILLS", short: 12)
    let namespace = try! Namespace("crash")

    /// Runs `kills` trials: start the child, kill it after a random delay, then `verify`.
    func killRepeatedly(
        _ label: String, maxDelay: Int = 200, environment: [String: String] = [:],
        arguments: (_ trial: Int, _ store: String) async throws -> [String],
        verify: (_ trial: Int, _ child: Child, _ store: SQLiteMemoryStore) async throws -> Void
    ) async throws {
        let folder = try scratchDirectory(label)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("memory.sqlite").path
        var generator = SystemRandomNumberGenerator()
        var acknowledged = 0
        for trial in 0..<kills {
            let child = try Child.start(try await arguments(trial, "sqlite:" + path), environment: environment)
            // Three kills in four land after the first acknowledged write (so mid-run, however
            // slow the machine); the others at any moment, opening the file included.
            if trial % 4 != 0 {
                while child.process.isRunning && child.acks.isEmpty { try await Task.sleep(for: .milliseconds(1)) }
            }
            try await Task.sleep(for: .milliseconds(Int.random(in: 0...maxDelay, using: &generator)))
            #expect(child.process.isRunning, "trial \(trial): the child ended before the kill: \(child.errors)")
            try await child.kill()
            acknowledged += child.acks.count
            #expect(!child.errors.contains("reliability-child:"), "trial \(trial): \(child.errors)")
            #expect(try integrityCheck(path) == "ok", "trial \(trial)")
            // A new process (this one) opens the file as the kill left it: no repair step.
            let store = try SQLiteMemoryStore(path: path)
            try await verify(trial, child, store)
            child.removeOutput()
        }
        print("CrashSafetyTests.\(label): \(kills) kills, \(acknowledged) acknowledged writes checked")
    }

    @Test("single puts: every acknowledged put is present, at most one more")
    func singlePuts() async throws {
        try await killRepeatedly("puts", arguments: { trial, store in
            ["puts", store, namespace.name, "p\(trial)-", "1000000"]
        }, verify: verifyPuts)
    }

    /// At `synchronous = NORMAL` a commit is not synced, so a power loss may take the last
    /// ones, but a killed process loses none: the store's VFS writes a commit's log frames
    /// before the commit returns (BENCHMARKS.md, round forty-five).
    @Test("single puts at NORMAL: every acknowledged put is present, at most one more")
    func singlePutsAtNormal() async throws {
        try await killRepeatedly("puts-normal", environment: ["RELIABILITY_SYNCHRONOUS": "normal"], arguments: { trial, store in
            ["puts", store, namespace.name, "p\(trial)-", "1000000"]
        }, verify: verifyPuts)
    }

    /// After a kill during single puts `p<trial>-<n>`: each acknowledged put is present with its
    /// value, and at most one more (the put the kill interrupted after its commit).
    func verifyPuts(trial: Int, child: Child, store: SQLiteMemoryStore) async throws {
        let acked = child.acks
        for key in acked {
            let index = key.split(separator: "-").last.map(String.init) ?? ""
            #expect(try await store.get(key, in: namespace)?.value == .string("value-\(index)"), "trial \(trial): \(key)")
        }
        let present = try await store.allRecords(in: namespace, prefix: "p\(trial)-").count
        #expect(present == acked.count || present == acked.count + 1, "trial \(trial): \(present) keys, \(acked.count) acknowledged")
    }

    /// The full-text index (in its own file beside the records) is brought up to date after
    /// the writes, which only note their changes (committed with them; new rows need no
    /// note): a kill between a write and the index's pass leaves rows pending, and the next
    /// process's search must still find every acknowledged put (it has the index catch up
    /// first); after that, the index holds exactly the records.
    @Test("single puts, then search: every acknowledged put is found, and the index is exact once caught up")
    func searchAfterKill() async throws {
        var trialsWithPendingRows = 0
        try await killRepeatedly("search", arguments: { trial, store in
            // Keys like "s3x17": one word, found only by a search for it.
            ["puts", store, namespace.name, "s\(trial)x", "1000000"]
        }, verify: { trial, child, store in
            if try Self.pendingRows(store.path) > 0 { trialsWithPendingRows += 1 }
            for key in child.acks {
                #expect(try await store.search(key, in: namespace, limit: 3).first?.record.key == key, "trial \(trial): \(key)")
            }
            // A kill before the first acknowledgement (every fourth trial may land there) can
            // still leave the unacknowledged put committed and pending: one search more has the
            // index catch up whatever was acknowledged.
            _ = try await store.search("s\(trial)x0", in: namespace, limit: 1)
            #expect(try Self.pendingRows(store.path) == 0, "trial \(trial)")
            #expect(try Self.fullTextIntegrityError(store.path) == nil, "trial \(trial)")
        })
        #expect(trialsWithPendingRows > 0, "no kill left rows pending for the full-text index")
    }

    /// Rows written and not yet in the full-text index
    /// (``SQLiteMemoryStore/searchIndexBacklog(recordsAt:)``).
    static func pendingRows(_ path: String) throws -> Int {
        try SQLiteMemoryStore.searchIndexBacklog(recordsAt: path).pending
    }

    /// The index against the records (``SQLiteMemoryStore/searchIndexDifferences(recordsAt:)``):
    /// `nil` when they agree, else what differs.
    static func fullTextIntegrityError(_ path: String) throws -> String? {
        do {
            return try SQLiteMemoryStore.searchIndexDifferences(recordsAt: path)
        } catch let error as DatabaseError {
            return "\(error)"
        }
    }

    @Test("turns of eight tool calls: acknowledged turns present, every turn all or nothing")
    func toolTurns() async throws {
        try await killRepeatedly("turns", arguments: { trial, store in
            ["turns", store, namespace.name, String(trial * 100_000), "100000", "8"]
        }, verify: { trial, child, store in
            let acked = Set(child.acks.compactMap(Int.init))
            var keysPerTurn: [Int: Int] = [:]
            for record in try await store.allRecords(in: namespace, prefix: "t") {
                guard let turn = Int(record.key.dropFirst().prefix { $0 != "-" }), turn / 100_000 == trial else { continue }
                keysPerTurn[turn, default: 0] += 1
            }
            for turn in acked { #expect(keysPerTurn[turn] == 8, "trial \(trial): acknowledged turn \(turn)") }
            for (turn, count) in keysPerTurn { #expect(count == 8, "trial \(trial): turn \(turn) half applied (\(count) of 8 keys)") }
            #expect(keysPerTurn.count <= acked.count + 1, "trial \(trial)")
        })
    }

    @Test("appends: the list is 0, 1, 2, ... with no gap or duplicate and holds every acknowledged element")
    func appends() async throws {
        try await killRepeatedly("appends", arguments: { _, store in
            let current = try await SQLiteMemoryStore(path: String(store.dropFirst("sqlite:".count)))
                .get("list", in: namespace)?.value.arrayValue?.count ?? 0
            return ["appends", store, namespace.name, "list", String(current), "1000000"]
        }, verify: { trial, child, store in
            let items = try await store.get("list", in: namespace)?.value.arrayValue ?? []
            #expect(items == (0..<items.count).map { .int($0) }, "trial \(trial)")
            if let last = child.acks.last.flatMap(Int.init) {
                #expect(items.count == last + 1 || items.count == last + 2, "trial \(trial): \(items.count) items, last ack \(last)")
            }
        })
    }

    @Test("memory-tool directory renames: the files are always in exactly one directory, unchanged")
    func directoryRenames() async throws {
        var original: [String: JSONValue] = [:]
        var lastDirectory = 0
        try await killRepeatedly("renames", arguments: { trial, store in
            if trial == 0 {
                let setup = try Child.start(["renames", store, namespace.name, "5", "0"])
                try await setup.wait()
                #expect(setup.process.terminationStatus == 0, "\(setup.errors)")
                let path = String(store.dropFirst("sqlite:".count))
                for record in try await SQLiteMemoryStore(path: path).allRecords(in: namespace, prefix: "/memories/d0/") {
                    original[String(record.key.dropFirst("/memories/d0".count))] = record.value
                }
                #expect(original.count >= 5)
            }
            return ["renames", store, namespace.name, "5", "1000000"]
        }, verify: { trial, child, store in
            var byDirectory: [Int: [String: JSONValue]] = [:]
            for record in try await store.allRecords(in: namespace, prefix: "/memories/d") {
                let rest = record.key.dropFirst("/memories/d".count)
                guard let number = Int(rest.prefix { $0 != "/" }) else { continue }
                byDirectory[number, default: [:]][String(rest.drop { $0 != "/" })] = record.value
            }
            #expect(byDirectory.count == 1, "trial \(trial): files in directories \(byDirectory.keys.sorted())")
            guard let (directory, files) = byDirectory.first else { return }
            #expect(files == original, "trial \(trial): d\(directory) holds \(files.keys.sorted())")
            let acked = child.acks.last.flatMap(Int.init) ?? lastDirectory
            #expect(directory == acked || directory == acked + 1, "trial \(trial): d\(directory), last ack d\(acked)")
            lastDirectory = directory
        })
    }

    @Test("session saves mid-loop: the saved transcript holds every acknowledged turn and resumes")
    func sessionSaves() async throws {
        try await killRepeatedly("sessions", maxDelay: 600, arguments: { trial, store in
            ["session", store, namespace.name, "s\(trial)", "400"]
        }, verify: { trial, child, store in
            let sessions = MemoryStoreSessionStore(store: store, namespace: namespace)
            let saved = try await sessions.load("s\(trial)")
            let acked = child.acks.compactMap(Int.init).max() ?? 0
            #expect((saved?.messages.count ?? 0) >= acked, "trial \(trial): \(saved?.messages.count ?? 0) saved, \(acked) acknowledged")
            guard saved != nil else { return }
            // Resume in this process against a model that ends the turn.
            let server = try ScriptedMessagesServer()
            defer { server.stop() }
            server.enqueue(.message(MessageResponse(id: "msg_resume", model: "claude-test", content: [.text("Resumed.")], stopReason: .endTurn, usage: Usage(inputTokens: 1, outputTokens: 1))))
            let loop = AgentLoop(
                client: ClaudeClient(configuration: ClaudeConfiguration(apiKey: "sk-test", baseURL: server.baseURL, maxRetries: 0)),
                executor: MemoryToolExecutor(store: store, namespace: namespace), configuration: AgentConfiguration(model: "claude-test", streaming: false))
            let session = try await AgentSession.open(id: "s\(trial)", store: sessions)
            _ = try await loop.resume(session)
            let messages = try #require(try await sessions.load("s\(trial)")).messages
            #expect(messages.last?.role == .assistant, "trial \(trial)")
            for (index, message) in messages.enumerated() {
                #expect(message.role == (index % 2 == 0 ? .user : .assistant), "trial \(trial): message \(index)")
                let uses = message.toolUses.map(\.id)
                guard !uses.isEmpty, index + 1 < messages.count else { continue }
                let results = messages[index + 1].blocks.compactMap(\.toolResult).map(\.toolUseID)
                #expect(results == uses, "trial \(trial): message \(index) has calls \(uses), answered by \(results)")
            }
        })
    }
}
