import Foundation
import GRDB
import Synchronization
import Testing

@testable import AgentMemorySQLite
import TestScratch

/// The group-commit writer on its own: writes that queue behind a transaction share the next
/// one; failures stay with the writes they belong to, and a failed commit fails all of them.
@Suite("Group commit")
struct GroupCommitWriterTests {
    struct Refused: Error, Equatable {}

    /// A pool over a fresh file with a table of names and one that checks a deferred foreign
    /// key at commit.
    static func makePool() throws -> DatabasePool {
        let directory = Scratch.directory("group-commit")
        let pool = try DatabasePool(path: directory.appendingPathComponent("db.sqlite").path)
        try pool.write { db in
            try db.execute(sql: """
                CREATE TABLE names (name TEXT PRIMARY KEY);
                CREATE TABLE parents (id INTEGER PRIMARY KEY);
                CREATE TABLE children (parent INTEGER REFERENCES parents (id) DEFERRABLE INITIALLY DEFERRED);
                """)
        }
        return pool
    }

    static func names(_ pool: DatabasePool) throws -> [String] {
        try pool.read { db in try String.fetchAll(db, sql: "SELECT name FROM names ORDER BY name") }
    }

    /// Starts a write that holds its transaction until `gate` is signalled; once it is inside,
    /// runs `queue` and waits until `count` writes wait behind it.
    static func holdWhileQueueing(
        _ writer: GroupCommitWriter, gate: DispatchSemaphore, count: Int, queue: () -> Void
    ) async throws -> Task<Void, any Error> {
        let inside = Atomic<Bool>(false)
        let holder = Task(executorPreference: HolderExecutor.shared) {
            try await writer.write { db in
                try db.execute(sql: "INSERT INTO names VALUES ('holder')")
                inside.store(true, ordering: .sequentiallyConsistent)
                gate.wait()
            }
        }
        while !inside.load(ordering: .sequentiallyConsistent) { try await Task.sleep(for: .milliseconds(2)) }
        queue()
        while writer.queuedCount < count { try await Task.sleep(for: .milliseconds(2)) }
        gate.signal()
        return holder
    }

    static func childCount(_ pool: DatabasePool) throws -> Int {
        try pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM children") ?? -1 }
    }

    @Test func aFailingWriteRollsBackOnlyItsOwnSavepoint() async throws {
        let pool = try Self.makePool()
        let writer = GroupCommitWriter(database: pool)
        let gate = DispatchSemaphore(value: 0)
        var tasks: [Task<Void, any Error>] = []
        let holder = try await Self.holdWhileQueueing(writer, gate: gate, count: 3) {
            for name in ["a", "bad", "c"] {
                tasks.append(Task {
                    try await writer.write { db in
                        try db.execute(sql: "INSERT INTO names VALUES (?)", arguments: [name])
                        if name == "bad" { throw Refused() }
                    }
                })
            }
        }
        try await holder.value
        try await tasks[0].value
        await #expect(throws: Refused.self) { try await tasks[1].value }
        try await tasks[2].value
        #expect(try Self.names(pool) == ["a", "c", "holder"])
    }

    @Test func writesQueuedBehindAFailedLeaderAreCommittedAfterwards() async throws {
        let pool = try Self.makePool()
        let writer = GroupCommitWriter(database: pool)
        let gate = DispatchSemaphore(value: 0)
        let inside = Atomic<Bool>(false)
        let leader = Task(executorPreference: HolderExecutor.shared) {
            try await writer.write { db in
                try db.execute(sql: "INSERT INTO names VALUES ('leader')")
                inside.store(true, ordering: .sequentiallyConsistent)
                gate.wait()
                throw Refused()
            }
        }
        while !inside.load(ordering: .sequentiallyConsistent) { try await Task.sleep(for: .milliseconds(2)) }
        let queued = ["x", "y"].map { (name: String) in
            Task { try await writer.write { db in try db.execute(sql: "INSERT INTO names VALUES (?)", arguments: [name]) } }
        }
        while writer.queuedCount < 2 { try await Task.sleep(for: .milliseconds(2)) }
        gate.signal()
        await #expect(throws: Refused.self) { try await leader.value }
        for task in queued { try await task.value }
        #expect(try Self.names(pool) == ["x", "y"])
    }

    @Test func aFailedCommitFailsItsWritesAndTheWriterGoesOn() async throws {
        let pool = try Self.makePool()
        let writer = GroupCommitWriter(database: pool)
        let gate = DispatchSemaphore(value: 0)
        var tasks: [Task<Void, any Error>] = []
        let holder = try await Self.holdWhileQueueing(writer, gate: gate, count: 2) {
            tasks.append(Task { try await writer.write { db in try db.execute(sql: "INSERT INTO names VALUES ('in-doomed-commit')") } })
            // Violates a deferred foreign key: only the COMMIT fails.
            tasks.append(Task { try await writer.write { db in try db.execute(sql: "INSERT INTO children VALUES (42)") } })
        }
        try await holder.value
        for task in tasks {
            await #expect(throws: DatabaseError.self) { try await task.value }
        }
        // Nothing of the failed transaction is visible, and the next write commits.
        try await writer.write { db in try db.execute(sql: "INSERT INTO names VALUES ('after')") }
        #expect(try Self.names(pool) == ["after", "holder"])
        #expect(try Self.childCount(pool) == 0)
        // The failed transaction was not run a second time, write by write.
        #expect(writer.groupsRetried.load(ordering: .relaxed) == 0)
    }
}
