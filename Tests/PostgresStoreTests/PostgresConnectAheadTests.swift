import AgentMemoryCore
import AgentMemoryJSON
import AgentMemoryPostgres
import AgentMemoryRuntime
import Foundation
import Testing

/// A store that starts connecting before its first operation (`connectAhead()`, what `exec`
/// does while it parses its message): the operation then works as usual, and a store closed
/// without one has read and written nothing.
@Suite("PostgreSQL connection opened ahead")
struct PostgresConnectAheadTests {
    let main = try! Namespace("main")

    /// The test server's URL with `schema`.
    private static func url(schema: String) throws -> String {
        try #require(TestServer.url) + "?schema=\(schema)"
    }

    /// Whether `schema` exists on the test server.
    private static func exists(_ schema: String) async throws -> Bool {
        try await TestServer.query("SELECT count(*)::text FROM pg_namespace WHERE nspname = '\(schema)'") == ["1"]
    }

    /// A command's store (`withStore`, or opened ahead for one) sends its statements whole; a
    /// store opened for longer (the servers', `openStore()`) prepares them. Nothing connects.
    @Test func aStoreForOneCommandSendsItsStatementsWhole() async throws {
        let settings = RuntimeSettings(store: "postgres://agent@127.0.0.1:1/memory", environment: [:])
        #expect(try await settings.withStore { ($0 as? PostgresMemoryStore)?.preparesStatements } == false)
        let ahead = try #require(try settings.openStoreConnectingAhead() as? PostgresMemoryStore)
        #expect(ahead.preparesStatements == false)
        try await ahead.close()
        let lasting = try #require(try settings.openStore() as? PostgresMemoryStore)
        #expect(lasting.preparesStatements == true)
        try await lasting.close()
    }

    @Test(.enabled(if: TestServer.url != nil, "PostgreSQL tests skipped: AGENT_MEMORY_TEST_POSTGRES_URL is not set"))
    func theFirstOperationAfterConnectingAheadWorksAsUsual() async throws {
        try await TestServer.withSchema { schema in
            let store = try TestServer.store(schema: schema)
            store.connectAhead()
            store.connectAhead()
            try await store.put("city", value: "Lisbon", in: main)
            // Connected: asking again changes nothing.
            store.connectAhead()
            #expect(try await store.get("city", in: main)?.value == "Lisbon")
            try await store.close()
            let again = try TestServer.store(schema: schema)
            #expect(try await again.get("city", in: main)?.value == "Lisbon")
            try await again.close()
        }
    }

    /// The connection opened ahead also reads the schema's migrations: on a current schema the
    /// first operation applies none; a newer schema is still refused, and nothing is written.
    @Test(.enabled(if: TestServer.url != nil, "PostgreSQL tests skipped: AGENT_MEMORY_TEST_POSTGRES_URL is not set"))
    func theMigrationsReadAheadLeaveACurrentSchemaAsItIsAndANewerOneRefused() async throws {
        try await TestServer.withSchema { schema in
            let first = try TestServer.store(schema: schema)
            try await first.put("city", value: "Lisbon", in: main)
            try await first.close()
            let applied = try await TestServer.query("SELECT identifier || ' ' || applied_at FROM \(schema).agent_memory_migrations ORDER BY 1")

            let current = try TestServer.store(schema: schema)
            current.connectAhead()
            try await Task.sleep(for: .milliseconds(100))
            try await current.put("river", value: "Tagus", in: main)
            #expect(try await current.get("city", in: main)?.value == "Lisbon")
            try await current.close()
            #expect(try await TestServer.query("SELECT identifier || ' ' || applied_at FROM \(schema).agent_memory_migrations ORDER BY 1") == applied)

            _ = try await TestServer.query("INSERT INTO \(schema).agent_memory_migrations (identifier) VALUES ('2099-01-01.1-from-the-future')")
            let newer = try TestServer.store(schema: schema)
            newer.connectAhead()
            try await Task.sleep(for: .milliseconds(100))
            let error = await #expect(throws: MemoryError.self) { try await newer.put("sea", value: "Atlantic", in: main) }
            #expect(error?.message.contains("'2099-01-01.1-from-the-future', unknown to this version") == true, "\(error?.message ?? "")")
            try await newer.close()
            #expect(try await TestServer.query("SELECT key FROM \(schema).memory_records ORDER BY key") == ["city", "river"])
        }
    }

    @Test(.enabled(if: TestServer.url != nil, "PostgreSQL tests skipped: AGENT_MEMORY_TEST_POSTGRES_URL is not set"))
    func aStoreOpenedAheadAndClosedUnusedMakesNoSchema() async throws {
        try await TestServer.withSchema { schema in
            let settings = RuntimeSettings(store: try Self.url(schema: schema), environment: [:])
            let store = try #require(try settings.openStoreConnectingAhead())
            try await Task.sleep(for: .milliseconds(200))
            try await store.close()
            #expect(try await !Self.exists(schema))
            // SQLite and in-memory stores are not opened ahead: their opening makes files.
            #expect(try RuntimeSettings(store: "memory:", environment: [:]).openStoreConnectingAhead() == nil)
            #expect(try RuntimeSettings(store: "sqlite:/nonexistent/folder/m.sqlite", environment: [:]).openStoreConnectingAhead() == nil)
        }
    }

    @Test func closingDoesNotWaitForAConnectionThatIsStillOpening() async throws {
        // A server that accepts the connection and never answers: the connection opened ahead
        // would take the whole connect timeout to fail.
        let listener = try SilentListener()
        defer { listener.close() }
        let store = try PostgresMemoryStore(url: "postgres://agent@127.0.0.1:\(listener.port)/memory", connectTimeout: .seconds(120))
        store.connectAhead()
        let started = ContinuousClock.now
        try await store.close()
        #expect(ContinuousClock.now - started < .seconds(60))
    }

    @Test func anUnreachableServerIsReportedByTheFirstOperation() async throws {
        let port = try closedPort()
        let store = try PostgresMemoryStore(url: "postgres://agent@127.0.0.1:\(port)/memory", connectTimeout: .seconds(5))
        store.connectAhead()
        let error = await #expect(throws: MemoryError.self) { try await store.put("k", value: 1, in: main) }
        #expect(error?.code == .unavailable)
        #expect(error?.message.contains("127.0.0.1:\(port)") == true, "\(error?.message ?? "")")
        try await store.close()
    }
}
