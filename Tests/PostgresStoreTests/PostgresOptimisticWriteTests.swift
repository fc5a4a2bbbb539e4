import AgentMemoryCore
import AgentMemoryJSON
import AgentMemoryPostgres
import Foundation
import Logging
import PostgresNIO
import Testing

/// A write without quotas or appends reads its rows without a lock and then writes in one
/// statement only if no key moved meanwhile. These tests move a key in exactly that window
/// (another session's transaction, holding the namespace's counter row, commits while the
/// store's write statement waits on it) and check that the write then runs under the lock:
/// exact versions, nothing applied twice or half, and gap-free change-log sequences.
@Suite(
    "PostgreSQL store: optimistic writes", .serialized,
    .enabled(if: TestServer.url != nil, "PostgreSQL tests skipped: AGENT_MEMORY_TEST_POSTGRES_URL is not set"))
struct PostgresOptimisticWriteTests {
    let main = try! Namespace("main")

    @Test func aPutWhoseRowAnotherWriterUpdatesMeanwhileIsWrittenAfterIt() async throws {
        try await withStore(fallbacks: 1) { store, schema, application in
            try await store.put("k", value: 0, in: main)
            let created = try #require(try await store.get("k", in: main)).createdAt
            let other = try await OtherWriter.begin(schema: schema, namespace: main.name)
            let write = try await closing(other.connection) {
                try await other.update(key: "k", value: "\"other\"", version: 2, sequence: 2)
                let write = Task { try await store.put("k", value: 10, in: self.main, options: PutOptions(author: "us")) }
                try await waitUntil { try await TestServer.backendsWaitingOnALock(application: application) == 1 }
                try await other.commit()
                return write
            }
            let outcome = try #require(await outcome(of: write, within: 30), "the put hung")
            let record = try outcome.get()
            #expect(record.version == 3)
            #expect(record.value == 10)
            #expect(record.createdAt == created, "created_at kept")
            let changes = try await store.changes(in: main, since: 0, limit: 10)
            #expect(changes.map(\.sequence) == [1, 2, 3])
            #expect(changes.map(\.version) == [1, 2, 3])
            #expect(changes.last?.author == "us")
        }
    }

    @Test func aPutOfAnAbsentKeyThatAnotherWriterCreatesMeanwhileIsWrittenAfterIt() async throws {
        try await withStore(fallbacks: 1) { store, schema, application in
            try await store.put("seed", value: 0, in: main)
            let other = try await OtherWriter.begin(schema: schema, namespace: main.name)
            let write = try await closing(other.connection) {
                try await other.insert(key: "k", value: "\"other\"", sequence: 2)
                let write = Task { try await store.put("k", value: 10, in: self.main) }
                try await waitUntil { try await TestServer.backendsWaitingOnALock(application: application) == 1 }
                try await other.commit()
                return write
            }
            let record = try #require(await outcome(of: write, within: 30), "the put hung").get()
            #expect(record.version == 2, "written over the other writer's row, not beside it")
            #expect(try await store.get("k", in: main)?.value == 10)
            let changes = try await store.changes(in: main, since: 0, limit: 10)
            #expect(changes.map(\.sequence) == [1, 2, 3])
            #expect(changes.map(\.key) == ["seed", "k", "k"])
            #expect(changes.map(\.version) == [1, 1, 2])
        }
    }

    @Test func aBatchWithOneMovedKeyWritesNothingOptimisticallyThenAllUnderTheLock() async throws {
        try await withStore(fallbacks: 1) { store, schema, application in
            try await store.put("a", value: 0, in: main)
            try await store.put("b", value: 0, in: main)
            let other = try await OtherWriter.begin(schema: schema, namespace: main.name)
            let batch = try await closing(other.connection) {
                try await other.update(key: "b", value: "\"other\"", version: 2, sequence: 3)
                let batch = Task {
                    try await store.apply([.put(key: "a", value: 1), .put(key: "b", value: 1)], in: self.main)
                }
                try await waitUntil { try await TestServer.backendsWaitingOnALock(application: application) == 1 }
                try await other.commit()
                return batch
            }
            let outcomes = try #require(await outcome(of: batch, within: 30), "the batch hung").get()
            #expect(outcomes.map { $0.record?.version } == [2, 3])
            let changes = try await store.changes(in: main, since: 0, limit: 10)
            #expect(changes.map(\.sequence) == [1, 2, 3, 4, 5])
            #expect(changes.map(\.key) == ["a", "b", "b", "a", "b"])
            #expect(changes.map(\.version) == [1, 1, 2, 2, 3])
        }
    }

    @Test func aDeleteOfARowAnotherWriterDeletesMeanwhileDeletesNothingMore() async throws {
        try await withStore(fallbacks: 1) { store, schema, application in
            try await store.put("k", value: 0, in: main)
            let other = try await OtherWriter.begin(schema: schema, namespace: main.name)
            let removal = try await closing(other.connection) {
                try await other.delete(key: "k", version: 1, sequence: 2)
                let removal = Task { try await store.delete("k", in: self.main) }
                try await waitUntil { try await TestServer.backendsWaitingOnALock(application: application) == 1 }
                try await other.commit()
                return removal
            }
            let deleted = try #require(await outcome(of: removal, within: 30), "the delete hung").get()
            #expect(!deleted, "the row was gone by the time the delete ran")
            let changes = try await store.changes(in: main, since: 0, limit: 10)
            #expect(changes.map(\.sequence) == [1, 2])
            #expect(changes.map(\.operation) == [.put, .delete])
        }
    }

    @Test func uncontendedWritesKeepTheWriteRule() async throws {
        try await withStore(fallbacks: 0) { store, _, _ in
            let first = try await store.put("k", value: 1, in: main, options: PutOptions(author: "a"))
            let second = try await store.put("k", value: 2, in: main, options: PutOptions(ifVersion: 1, author: "b"))
            #expect(second.version == 2)
            #expect(second.createdAt == first.createdAt)
            #expect(second.author == "b")
            await #expect(throws: MemoryError.self) {
                try await store.put("k", value: 3, in: self.main, options: PutOptions(ifVersion: 1))
            }
            let outcomes = try await store.apply(
                [.put(key: "x", value: 1), .put(key: "x", value: 2), .delete(key: "k")], in: main)
            #expect(outcomes.map { $0.record?.version } == [1, 2, nil])
            #expect(try await store.get("k", in: main) == nil)
            let changes = try await store.changes(in: main, since: 0, limit: 10)
            #expect(changes.map(\.sequence) == [1, 2, 3, 4, 5])
            #expect(changes.map(\.key) == ["k", "k", "x", "x", "k"])
            #expect(changes.map(\.version) == [1, 2, 1, 2, 2])
        }
    }

    /// In the extended protocol an autocommit statement commits only at the `Sync` after its
    /// `CommandComplete`, and PostgresNIO ends the statement at `CommandComplete`: a session
    /// ended in between rolls back a write the store had seen complete. Here a deferred
    /// constraint trigger, which runs at commit, sleeps on the key `slow`, and the store's
    /// session is ended while it sleeps: the put must not be acknowledged (it fails saying the
    /// outcome is unknown), and the key is absent. Before the commit was confirmed, the put
    /// returned version 1 for a record that was never written.
    @Test func aWriteWhoseSessionEndsBeforeItCommitsIsNotAcknowledged() async throws {
        try await withStore(fallbacks: 0) { store, schema, application in
            try await store.put("seed", value: 0, in: main)
            _ = try await TestServer.query("""
                CREATE FUNCTION \(schema).sleep_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF NEW.key = 'slow' THEN PERFORM pg_sleep(30); END IF;
                    RETURN NULL;
                END $$
                """)
            _ = try await TestServer.query("""
                CREATE CONSTRAINT TRIGGER sleep_at_commit AFTER INSERT OR UPDATE ON \(schema).memory_records
                DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION \(schema).sleep_at_commit()
                """)
            let write = Task { try await store.put("slow", value: 1, in: self.main) }
            try await waitUntil {
                let rows = try await TestServer.query(
                    "SELECT count(*)::text FROM pg_stat_activity WHERE application_name = '\(application)' AND wait_event = 'PgSleep'")
                return rows.first == "1"
            }
            #expect(try await TestServer.terminateBackends(application: application) >= 1)
            let result = try #require(await outcome(of: write, within: 30), "the put hung")
            switch result {
            case .success(let record):
                Issue.record("the put was acknowledged (version \(record.version)) though its commit never happened")
            case .failure(let error):
                let failure = try #require(error as? MemoryError, "\(error)")
                #expect(failure.code == .unavailable)
                #expect(failure.message.contains("may or may not have been applied"), "\(failure.message)")
            }
            #expect(try await store.get("slow", in: main) == nil)
            #expect(try await store.get("seed", in: main)?.value == 0)
        }
    }

    /// A store on a client of its own (so that its backends can be found by application name).
    /// Each test's body runs, then `fallbacks` is checked: how many writes fell back from the
    /// optimistic statement to the namespace lock (the store logs each one), so that a path
    /// that always fell back (two round trips promised, five paid) fails the test.
    private func withStore(fallbacks: Int, _ body: (PostgresMemoryStore, String, String) async throws -> Void) async throws {
        let messages = try await TestServer.withLoggingStore(body)
        let logged = messages.filter { $0.hasPrefix("optimistic write fell back to the namespace lock") }
        #expect(logged.count == fallbacks, "writes that fell back to the lock")
    }
}

/// Another writer, as the store's locked transaction would be: it holds the namespace's
/// counter row and changes a record and the change log, uncommitted until ``commit()``.
private final class OtherWriter: Sendable {
    let connection: PostgresConnection
    let schema: String
    let namespace: String
    let logger = Logger(label: "agent-memory-tests")

    private init(connection: PostgresConnection, schema: String, namespace: String) {
        self.connection = connection
        self.schema = schema
        self.namespace = namespace
    }

    static func begin(schema: String, namespace: String) async throws -> OtherWriter {
        let writer = OtherWriter(connection: try await TestServer.connection(), schema: schema, namespace: namespace)
        do {
            try await writer.run("BEGIN")
            try await writer.run("SELECT 1 FROM \(unescaped: schema).memory_namespaces WHERE namespace = \(namespace) FOR UPDATE")
        } catch {
            try? await writer.connection.close()
            throw error
        }
        return writer
    }

    func update(key: String, value: String, version: Int, sequence: Int) async throws {
        try await run("""
            UPDATE \(unescaped: schema).memory_records SET value = \(value)::jsonb, value_text = \(value), version = \(version),
                updated_at = clock_timestamp(), author = 'other', size = octet_length(key) + octet_length(\(value))
            WHERE namespace = \(namespace) AND key = \(key)
            """)
        try await log(key: key, operation: "put", version: version, sequence: sequence)
    }

    func insert(key: String, value: String, sequence: Int) async throws {
        try await run("""
            INSERT INTO \(unescaped: schema).memory_records (namespace, key, value, value_text, version, created_at, updated_at, author, size)
            VALUES (\(namespace), \(key), \(value)::jsonb, \(value), 1, clock_timestamp(), clock_timestamp(), 'other',
                    octet_length(\(key)) + octet_length(\(value)))
            """)
        try await log(key: key, operation: "put", version: 1, sequence: sequence)
    }

    func delete(key: String, version: Int, sequence: Int) async throws {
        try await run("DELETE FROM \(unescaped: schema).memory_records WHERE namespace = \(namespace) AND key = \(key)")
        try await log(key: key, operation: "delete", version: version, sequence: sequence)
    }

    func commit() async throws {
        try await closing(connection) { try await run("COMMIT") }
    }

    private func log(key: String, operation: String, version: Int, sequence: Int) async throws {
        try await run("""
            INSERT INTO \(unescaped: schema).memory_changes (namespace, sequence, key, operation, version, author, time)
            VALUES (\(namespace), \(sequence), \(key), \(operation), \(version), 'other', clock_timestamp())
            """)
        try await run("UPDATE \(unescaped: schema).memory_namespaces SET last_sequence = \(sequence) WHERE namespace = \(namespace)")
    }

    private func run(_ query: PostgresQuery) async throws {
        _ = try await connection.query(query, logger: logger).collect()
    }
}
