import AgentMemoryCore
import AgentMemoryJSON
import AgentMemoryPostgres
import Foundation
import PostgresNIO
import Testing

/// A large search backlog computed in two parts at once, each on a connection of its own
/// (`PostgresMemoryStore.catchUpInParts`), and the ways it falls back to one connection.
@Suite("PostgreSQL search catch-up in parts", .enabled(if: TestServer.url != nil, "PostgreSQL tests skipped: AGENT_MEMORY_TEST_POSTGRES_URL is not set"))
struct PostgresSearchCatchUpPartsTests {
    let main = try! Namespace("main")

    /// A store on a pool of `connections` whose backends are named `application`, with
    /// `records` records written (by it, so the namespace has its counter row) and left without
    /// their documents.
    private static func storeWithBacklog(
        schema: String, application: String, connections: Int = 4, records: Int
    ) async throws -> (PostgresMemoryStore, Task<Void, Never>) {
        let client = try TestServer.client(searchPath: schema, applicationName: application, maximumConnections: connections)
        let running = Task { await client.run() }
        // (No maintenance: its catch-up would be a third backend waiting on a lock.)
        let store = try PostgresMemoryStore(
            client: client, schema: schema, connectTimeout: scaled(.seconds(15)), maintenanceInterval: .seconds(3_600))
        _ = try await store.batch(
            (0..<records).map { .put(key: MemoryKey(checked: "note/\($0)"), value: .string("note \($0) about the garden")) },
            in: try Namespace("main"))
        return (store, running)
    }

    /// How many backends of `application` are connected.
    private static func backends(_ application: String) async throws -> Int {
        try await TestServer.count("SELECT count(*)::text FROM pg_stat_activity WHERE application_name = '\(application)'")
    }

    @Test func aLargeBacklogIsComputedInTwoPartsAtOnceThatWaitForAWriter() async throws {
        try await TestServer.withSchema { schema in
            let application = "pgtest-\(UUID().uuidString.prefix(8).lowercased())"
            let split = PostgresMemoryStore.searchCatchUpSplit
            #expect(split == 1_024)
            let (store, running) = try await Self.storeWithBacklog(schema: schema, application: application, records: split + 200)
            defer { running.cancel() }
            #expect(try await Self.backends(application) == 1)
            // A writer holds the namespace's counter row: both parts, each on its own
            // connection, wait for it (share mode against its exclusive lock).
            let holder = try await RowLockHolder.lock(namespace: main.name, schema: schema)
            let search = Task { try await store.search("garden", in: self.main, limit: 3) }
            try await closing(holder.connection) {
                try await waitUntil { try await TestServer.backendsWaitingOnALock(application: application) == 2 }
                try await holder.release()
            }
            let hits = try #require(await outcome(of: search, within: 60), "the search hung").get()
            #expect(hits.count == 3)
            #expect(try await PostgresSearchIndexingTests.unindexed(schema) == [])
            // Two transactions computed the documents, each the records of one part of the keys.
            let parts = try await TestServer.query("""
                SELECT count(DISTINCT xmin::text)::text || ' ' || count(DISTINCT (hashtext(key) & 2147483647) % 2)::text
                FROM \(schema).memory_records GROUP BY xmin::text ORDER BY 1
                """)
            #expect(parts == ["1 1", "1 1"], "\(parts)")
            try await store.close()
        }
    }

    @Test func aPartWhoseConnectionIsNotHadInTimeIsComputedOnTheCallersOwn() async throws {
        try await TestServer.withSchema { schema in
            let application = "pgtest-\(UUID().uuidString.prefix(8).lowercased())"
            let records = PostgresMemoryStore.searchCatchUpSplit + 200
            // A pool of one connection: the second part waits for it while the first runs.
            let (store, running) = try await Self.storeWithBacklog(schema: schema, application: application, connections: 1, records: records)
            defer { running.cancel() }
            let search = Task { try await store.search("garden", in: self.main, limit: 3) }
            let hits = try #require(await outcome(of: search, within: 60), "the search hung").get()
            #expect(hits.count == 3)
            #expect(try await PostgresSearchIndexingTests.unindexed(schema) == [])
            #expect(try await store.get("note/7", in: main)?.value == .string("note 7 about the garden"))
            try await store.close()
        }
    }

    @Test func aNamespaceWithoutACounterRowIsComputedOnOneConnectionWhichMakesTheRow() async throws {
        try await TestServer.withSchema { schema in
            let store = try TestServer.store(schema: schema)
            try await store.put("a", value: "alpha", in: main)
            // Records older than the change log: no counter row, so the parts' gate finds none.
            try await PostgresSearchIndexingTests.insertUnindexed(schema, namespace: "old", count: PostgresMemoryStore.searchCatchUpSplit + 10)
            #expect(try await store.catchUpSearchIndex() == PostgresMemoryStore.searchCatchUpSplit + 11)
            #expect(try await PostgresSearchIndexingTests.unindexed(schema, "old") == [])
            #expect(try await TestServer.query("SELECT namespace FROM \(schema).memory_namespaces ORDER BY 1") == ["main", "old"])
            #expect(try await store.search("bulk record", in: Namespace("old"), limit: 2).count == 2)
            try await store.close()
        }
    }

    @Test func writersAndSearchesInPartsAtOnceNeitherFailNorMissAWrite() async throws {
        try await TestServer.withSchema { schema in
            let keys = (0..<(PostgresMemoryStore.searchCatchUpSplit + 100)).map { "k\($0)" }
            let setup = try TestServer.store(schema: schema)
            _ = try await setup.batch(keys.map { .put(key: MemoryKey(checked: $0), value: "round0 start") }, in: main)
            // Each search finds records without a document and computes them in two parts.
            try await PostgresSearchIndexingTests.writeAndSearch(
                schema: schema, keys: keys, writers: 2, rounds: 4, searchers: 2, searches: 6
            ) { round, writer, key in "round\(round) writer\(writer) r\(round)w\(writer)\(key)" }
            // Every record holds a last round's value, and is found by the word of that round
            // and writer alone: its document is not one of an earlier value.
            let records = try await setup.allRecords(in: main)
            #expect(records.count == keys.count)
            for record in records where record.key.hasSuffix("7") {
                guard case .string(let text) = record.value, let word = text.split(separator: " ").last else {
                    Issue.record("\(record.key): \(record.value)")
                    continue
                }
                #expect(text.hasPrefix("round4 "), "\(record.key): \(text)")
                // (The key's neighbours in its numbered sequence may follow it, ranked by context.)
                let hits = try await setup.search(String(word), in: main, limit: 5)
                #expect(hits.first?.record.key == record.key && hits.first?.record.value == record.value, "\(record.key): \(text)")
            }
            #expect(try await PostgresSearchIndexingTests.unindexed(schema) == [])
            try await setup.close()
        }
    }
}
