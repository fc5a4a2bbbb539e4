import AgentMemoryJSON
import AgentMemoryCore
import AgentMemorySQLite
import Foundation
import Testing

/// What only the SQLite store promises: durability settings, a shared file, migrations.
@Suite("SQLite store")
struct SQLiteStoreTests {
    @Test func durabilityIsFullByDefaultAndNormalOnRequest() async throws {
        let full = try SQLiteMemoryStore(path: temporarySQLitePath())
        #expect(try await full.effectiveSynchronous() == 2)
        let normal = try SQLiteMemoryStore(path: temporarySQLitePath(), synchronous: .normal)
        #expect(try await normal.effectiveSynchronous() == 1)
    }

    @Test func manyStoresOpeningOneNewFileAtOnceAllSucceed() async throws {
        let path = temporarySQLitePath()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<8 {
                group.addTask {
                    let store = try SQLiteMemoryStore(path: path)
                    for index in 0..<25 {
                        try await store.put("w\(writer)-\(index)", value: .int(index), in: main)
                    }
                }
            }
            try await group.waitForAll()
        }
        let store = try SQLiteMemoryStore(path: path)
        #expect(try await store.allRecords(in: main).count == 200)
    }

    @Test func dataSurvivesReopening() async throws {
        let path = temporarySQLitePath()
        do {
            let store = try SQLiteMemoryStore(path: path)
            try await store.put("k", value: ["kept": true], in: main, options: PutOptions(author: "a"))
        }
        let reopened = try SQLiteMemoryStore(path: path)
        let record = try #require(try await reopened.get("k", in: main))
        #expect(record.value == ["kept": true])
        #expect(record.author == "a")
        #expect(try await reopened.search("kept", in: main, limit: 5).count == 1)
    }

    @Test func anUnopenableFileIsAClearError() {
        #expect(throws: MemoryError.self) { try SQLiteMemoryStore(path: "/proc/agent-memory/nope.sqlite") }
        do {
            _ = try SQLiteMemoryStore(path: "/proc/agent-memory/nope.sqlite")
        } catch let error as MemoryError {
            #expect(error.code == .unavailable)
            #expect(error.message.hasPrefix("Cannot open the SQLite store at /proc/agent-memory/nope.sqlite: "))
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func purgeRemovesExpiredRows() async throws {
        let clock = ManualClock()
        let store = try SQLiteMemoryStore(path: temporarySQLitePath(), clock: clock.function)
        try await store.put("a", value: 1, in: main, options: PutOptions(ttl: .seconds(1)))
        try await store.put("b", value: 1, in: main)
        #expect(try await store.purgeExpired() == 0)
        clock.advance(seconds: 2)
        #expect(try await store.purgeExpired() == 1)
        #expect(try await store.allRecords(in: main).map(\.key) == ["b"])
    }

    /// Writes that share one group-committed transaction fail or succeed on their own.
    @Test func groupCommittedWritesFailIndependently() async throws {
        let store = try SQLiteMemoryStore(path: temporarySQLitePath())
        let outcomes = try await withThrowingTaskGroup(of: (Int, Bool).self) { group in
            for index in 0..<64 {
                group.addTask {
                    do {
                        if index.isMultiple(of: 2) {
                            try await store.put("good-\(index)", value: .int(index), in: main)
                        } else {
                            // Must not exist... but version 5 is demanded: a conflict.
                            try await store.put("bad-\(index)", value: .int(index), in: main, options: PutOptions(ifVersion: 5))
                        }
                        return (index, true)
                    } catch let error as MemoryError where error.code == .versionConflict {
                        return (index, false)
                    }
                }
            }
            var outcomes: [Int: Bool] = [:]
            for try await (index, succeeded) in group { outcomes[index] = succeeded }
            return outcomes
        }
        #expect(outcomes.count == 64)
        #expect(outcomes.allSatisfy { $0.value == $0.key.isMultiple(of: 2) })
        let keys = try await store.allRecords(in: main).map(\.key)
        #expect(keys.count == 32)
        #expect(keys.allSatisfy { $0.hasPrefix("good-") })
        #expect(try await store.changes(in: main, since: 0, limit: 100).count == 32)
    }
}
