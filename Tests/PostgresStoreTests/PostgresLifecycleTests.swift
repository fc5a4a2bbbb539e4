import AgentMemoryJSON
import AgentMemoryCore
import AgentMemoryPostgres
import Foundation
import Logging
import PostgresNIO
import Testing

/// The PostgreSQL store's lifecycle: closing, a client it was given, maintenance on a timer.
@Suite("PostgreSQL store lifecycle", .enabled(if: TestServer.url != nil, "PostgreSQL tests skipped: AGENT_MEMORY_TEST_POSTGRES_URL is not set"))
struct PostgresLifecycleTests {
    let main = try! Namespace("main")

    @Test func closeEndsTheStoreAndItsWatchers() async throws {
        try await TestServer.withSchema { schema in
            let store = try TestServer.store(schema: schema)
            try await store.put("k", value: 1, in: main)
            let seen = SeenSequences()
            let watcher = Task {
                do {
                    for try await change in store.watch(in: main, since: 0) { seen.append(change.sequence) }
                    return nil as MemoryError?
                } catch {
                    return error as? MemoryError
                }
            }
            // Close once the watcher has delivered the backlog, so what it saw is exact.
            try await waitUntil { seen.all.count == 1 }
            try await store.close()
            let ended = try await withTimeoutSeconds(10) { await watcher.value }
            #expect(seen.all == [1])
            #expect(ended?.code == .unavailable)
            // The listening connection is gone (the server notices a moment after the close).
            try await waitUntil { try await TestServer.listeners(schema: schema) == 0 }

            let closed = await #expect(throws: MemoryError.self) { try await store.get("k", in: main) }
            #expect(closed?.code == .unavailable)
            #expect(closed?.message.contains("is closed") == true, "\(closed?.message ?? "")")
            await #expect(throws: MemoryError.self) { try await store.put("k", value: 2, in: main) }
            // Closing twice does nothing; watching a closed store ends at once.
            try await store.close()
            let late = await #expect(throws: MemoryError.self) {
                for try await _ in store.watch(in: main, since: 0) {}
            }
            #expect(late?.code == .unavailable)
            // What was written stays written.
            let reopened = try TestServer.store(schema: schema)
            #expect(try await reopened.get("k", in: main)?.value == 1)
            try await reopened.close()
        }
    }

    @Test func aGivenClientIsUsedAndLeftRunning() async throws {
        try await TestServer.withSchema { schema in
            let client = try TestServer.client(searchPath: schema)
            let running = Task { await client.run() }
            defer { running.cancel() }
            let store = try PostgresMemoryStore(client: client, schema: schema, connectTimeout: scaled(.seconds(15)), logger: Logger(label: "test"))
            #expect(store.url == nil)
            try await store.put("k", value: "v", in: main, options: PutOptions(author: "a"))
            #expect(try await store.get("k", in: main)?.value == "v")
            #expect(try await store.changes(in: main, since: 0, limit: 10).map(\.key) == ["k"])
            try await store.close()
            await #expect(throws: MemoryError.self) { try await store.get("k", in: main) }
            // The client still serves its owner.
            let rows = try await client.query("SELECT value_text FROM \(unescaped: schema).memory_records", logger: Logger(label: "test"))
            var values: [String] = []
            for try await value in rows.decode(String.self) { values.append(value) }
            #expect(values == ["\"v\""])
        }
    }

    @Test func aGivenClientOnAnotherSchemaIsAClearError() async throws {
        try await TestServer.withSchema { schema in
            let client = try TestServer.client(searchPath: "public")
            let running = Task { await client.run() }
            defer { running.cancel() }
            let store = try PostgresMemoryStore(client: client, schema: schema, connectTimeout: scaled(.seconds(15)))
            let error = await #expect(throws: MemoryError.self) { try await store.put("k", value: 1, in: main) }
            #expect(error?.code == .invalidArgument)
            #expect(error?.message.contains("search_path=\(schema)") == true, "\(error?.message ?? "")")
            try await store.close()
        }
    }

    @Test func writesLeavePruningToMaintenance() async throws {
        try await TestServer.withSchema { schema in
            let store = try TestServer.store(
                schema: schema, retention: ChangeLogRetention(maxAge: nil, maxEntriesPerNamespace: 3),
                maintenanceInterval: .seconds(3600))
            for value in 1...5 { try await store.put("k", value: .int(value), in: main) }
            #expect(try await store.changes(in: main, since: 0, limit: 10).map(\.sequence) == [1, 2, 3, 4, 5])
            #expect(try await store.pruneChangeLog() == 2)
            #expect(try await store.changes(in: main, since: 0, limit: 10).map(\.sequence) == [3, 4, 5])
            try await store.close()
        }
    }

    @Test func maintenanceOnTheTimerPrunesTheLogAndPurgesExpiredRecords() async throws {
        try await TestServer.withSchema { schema in
            let clock = TestClock()
            let store = try TestServer.store(
                schema: schema, retention: ChangeLogRetention(maxAge: .seconds(86_400), maxEntriesPerNamespace: 3),
                maintenanceInterval: .milliseconds(50), clock: clock.function)
            for value in 1...10 { try await store.put("k\(value)", value: .int(value), in: main) }
            // By count: the newest three entries stay.
            try await waitUntil { try await store.changes(in: main, since: 0, limit: 20).count == 3 }
            #expect(try await store.changes(in: main, since: 0, limit: 20).map(\.sequence) == [8, 9, 10])

            // Expired records are purged from the table (reads hid them at once).
            try await store.put("temporary", value: "soon gone", in: main, options: PutOptions(ttl: .seconds(60)))
            clock.advance(seconds: 120)
            #expect(try await store.get("temporary", in: main) == nil)
            try await waitUntil { try await TestServer.query("SELECT key FROM \(schema).memory_records WHERE key = 'temporary'").isEmpty }

            // By age: two days later, only the newest entry is younger than a day.
            clock.advance(seconds: 2 * 86_400)
            try await store.put("late", value: 1, in: main)
            try await waitUntil { try await store.changes(in: main, since: 0, limit: 20).count == 1 }
            let left = try await store.changes(in: main, since: 0, limit: 20)
            #expect(left.map(\.sequence) == [12])
            #expect(left.map(\.key) == ["late"])
            try await store.close()
        }
    }

    @Test func thePurgeOfExpiredRecordsWaitsForTheNamespacesWriter() async throws {
        try await TestServer.withSchema { schema in
            let clock = TestClock()
            // (No maintenance meanwhile: it would purge them itself.)
            let store = try TestServer.store(schema: schema, maintenanceInterval: .seconds(3_600), clock: clock.function)
            let other = try Namespace("other")
            try await store.put("temporary", value: "soon gone", in: main, options: PutOptions(ttl: .seconds(60)))
            try await store.put("temporary", value: "soon gone too", in: other, options: PutOptions(ttl: .seconds(60)))
            try await store.put("kept", value: "stays", in: main)
            clock.advance(seconds: 120)
            // A writer of `main` holds its counter row: the purge of `main` waits for it, as
            // writers and the search catch-up do, instead of locking the rows in an order of its own.
            let holder = try await RowLockHolder.lock(namespace: main.name, schema: schema)
            let purge = Task { try await store.purgeExpired() }
            try await closing(holder.connection) {
                let pid = try await holder.connection.query("SELECT pg_backend_pid()", logger: holder.logger).collect()[0].decode(Int32.self)
                try await waitUntil {
                    try await TestServer.query("SELECT count(*)::text FROM pg_stat_activity WHERE \(pid) = ANY (pg_blocking_pids(pid))") == ["1"]
                }
                #expect(try await TestServer.query("SELECT namespace FROM \(schema).memory_records WHERE key = 'temporary' ORDER BY 1") == ["main", "other"])
                try await holder.release()
            }
            #expect(try await purge.value == 2)
            #expect(try await TestServer.query("SELECT key FROM \(schema).memory_records ORDER BY 1") == ["kept"])
            try await store.close()
        }
    }
}

/// The sequence numbers a watcher has seen so far.
final class SeenSequences: Sendable {
    private let sequences = Locked<[Int64]>([])

    func append(_ sequence: Int64) { sequences.withLock { $0.append(sequence) } }

    var all: [Int64] { sequences.withLock { $0 } }
}

/// A clock moved by hand.
final class TestClock: Sendable {
    private let current = Locked(Date(timeIntervalSince1970: 1_800_000_000))

    func advance(seconds: Double) {
        current.withLock { $0 = $0.addingTimeInterval(seconds) }
    }

    var function: @Sendable () -> Date { { [self] in current.withLock { $0 } } }
}

/// Waits until `condition` holds: for work a timer does, checked every 20 ms, failing after
/// 60 s (stretched by ``TestTimeScale/factor``) instead of hanging.
func waitUntil(_ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + scaled(.seconds(60))  // polled: only a failure waits it out
    while try await !condition() {
        guard ContinuousClock.now < deadline else {
            Issue.record("the condition did not hold within \(scaledSeconds(60)) s")
            return
        }
        try await Task.sleep(for: .milliseconds(20))
    }
}
