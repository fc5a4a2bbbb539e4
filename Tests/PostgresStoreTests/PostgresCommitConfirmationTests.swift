import AgentMemoryCore
import AgentMemoryJSON
import AgentMemoryPostgres
import Foundation
import Logging
import PostgresNIO
import Testing

/// An optimistic write is confirmed by a statement queued right behind it on its connection,
/// which reads back a session setting the write set to a token of its own (PostgreSQL undoes
/// the setting when the write's transaction rolls back), and statement deadlines are kept by one
/// timer per connection. These tests make a commit fail after the write statement completed,
/// on a fresh connection and on one whose statements are prepared already (where the
/// confirmation goes out behind the write), and make a write wait past the statement timeout.
@Suite(
    "PostgreSQL store: commit confirmation and statement deadlines", .serialized,
    .enabled(if: TestServer.url != nil, "PostgreSQL tests skipped: AGENT_MEMORY_TEST_POSTGRES_URL is not set"))
struct PostgresCommitConfirmationTests {
    let main = try! Namespace("main")

    /// Also with statements sent whole (`preparesStatements: false`, as the command line opens
    /// the store), where the confirmation always goes out right behind the write.
    @Test(arguments: [true, false])
    func aWriteWhoseCommitFailsIsNeverAcknowledgedAndLeavesNothing(preparesStatements: Bool) async throws {
        try await TestServer.withSchema { schema in
            let store = try TestServer.store(schema: schema, preparesStatements: preparesStatements)
            do {
                try await store.put("good/1", value: 1, in: main)
                // A deferred constraint trigger fails the commit of any write of a key under
                // `bad/`: the write statement completes, then the `Sync` that commits it fails.
                _ = try await TestServer.query("""
                    CREATE FUNCTION \(schema).fail_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$
                    BEGIN
                        IF NEW.key LIKE 'bad/%' THEN RAISE EXCEPTION 'refused at commit'; END IF;
                        RETURN NULL;
                    END $$
                    """)
                _ = try await TestServer.query("""
                    CREATE CONSTRAINT TRIGGER fail_at_commit AFTER INSERT OR UPDATE ON \(schema).memory_records
                    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION \(schema).fail_at_commit()
                    """)
                // Each round: two good writes (so the second runs on a connection whose write
                // statement is prepared, where the confirmation is queued behind the write),
                // then a single bad put and a batch holding a bad key.
                for round in 1...2 {
                    try await store.put("good/\(round)a", value: .int(round), in: main)
                    try await store.put("good/\(round)b", value: .int(round), in: main)
                    try await expectNotAcknowledged { try await store.put("bad/\(round)", value: 1, in: main) }
                    try await store.put("good/\(round)c", value: .int(round), in: main)
                    try await store.put("good/\(round)d", value: .int(round), in: main)
                    try await expectNotAcknowledged {
                        _ = try await store.batch(
                            [.put(key: MemoryKey(checked: "good/\(round)e"), value: 1), .put(key: MemoryKey(checked: "bad/\(round)e"), value: 1)],
                            in: main)
                    }
                }
                let keys = try await store.list(in: main, prefix: nil, cursor: nil, limit: 100).records.map(\.key)
                #expect(keys == ["good/1", "good/1a", "good/1b", "good/1c", "good/1d", "good/2a", "good/2b", "good/2c", "good/2d"])
                let changes = try await store.changes(in: main, since: 0, limit: 100)
                #expect(changes.map(\.sequence) == Array(1...9), "no sequence number taken by a write that rolled back")
                #expect(changes.map(\.key) == keys)
                // The store goes on writing once the trigger is gone.
                _ = try await TestServer.query("DROP TRIGGER fail_at_commit ON \(schema).memory_records")
                let record = try await store.put("bad/3", value: 3, in: main)
                #expect(record.version == 1)
                #expect(try await store.get("bad/3", in: main)?.value == 3)
            } catch {
                try? await store.close()
                throw error
            }
            try await store.close()
        }
    }

    @Test func aWriteWaitingPastTheStatementTimeoutFailsAndTheStoreGoesOn() async throws {
        try await TestServer.withSchema { schema in
            let application = "pgtest-\(UUID().uuidString.prefix(8).lowercased())"
            let client = try TestServer.client(searchPath: schema, applicationName: application)
            let running = Task { await client.run() }
            defer { running.cancel() }
            let store = try PostgresMemoryStore(
                client: client, schema: schema, connectTimeout: scaled(.seconds(10)), maintenanceInterval: .seconds(3_600),
                statementTimeout: scaled(.seconds(2)))
            let holder = try await TestServer.connection()
            do {
                try await store.put("k", value: 1, in: main)
                // A statement that is answered well within the timeout, then one that waits on
                // the namespace's counter row, held by another session, past the timeout.
                #expect(try await store.get("k", in: main)?.value == 1)
                let logger = Logger(label: "agent-memory-tests")
                try await holder.query("BEGIN", logger: logger)
                try await holder.query(
                    PostgresQuery(unsafeSQL: "SELECT last_sequence FROM \(schema).memory_namespaces WHERE namespace = 'main' FOR UPDATE"),
                    logger: logger)
                let write = Task { try await store.put("k", value: 2, in: self.main) }
                let result = try #require(await outcome(of: write, within: 60), "the put outlived its statement timeout")
                switch result {
                case .success(let record):
                    Issue.record("the put was acknowledged (version \(record.version)) while its namespace was locked")
                case .failure(let error):
                    let failure = try #require(error as? MemoryError, "\(error)")
                    #expect(failure.code == .unavailable)
                    #expect(failure.message.contains("no answer within"), "\(failure.message)")
                }
                // The server still runs the abandoned statement: end it before releasing the lock.
                try await waitUntil { try await TestServer.backendsWaitingOnALock(application: application) == 1 }
                #expect(try await TestServer.terminateBackendsWaitingOnALock(application: application) == 1)
                try await holder.query("ROLLBACK", logger: logger)
                #expect(try await store.get("k", in: main)?.value == 1)
                let record = try await store.put("k", value: 3, in: main)
                #expect(record.version == 2)
                #expect(try await store.get("k", in: main)?.value == 3)
            } catch {
                try? await holder.close()
                try? await store.close()
                throw error
            }
            try await holder.close()
            try await store.close()
        }
    }

    /// Runs a write that must fail without being acknowledged, as for a lost `COMMIT`:
    /// ``MemoryError/Code/unavailable``, "may or may not have been applied".
    private func expectNotAcknowledged(_ write: () async throws -> Void) async throws {
        do {
            try await write()
            Issue.record("a write whose commit failed was acknowledged")
        } catch let error as MemoryError {
            #expect(error.code == .unavailable, "\(error)")
            #expect(error.message.contains("may or may not have been applied"), "\(error.message)")
        }
    }
}
