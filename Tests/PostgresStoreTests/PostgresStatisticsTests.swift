import AgentMemoryJSON
import AgentMemoryCore
import AgentMemoryPostgres
import Foundation
import Testing

/// The planner's statistics kept current after large writes: searches after an import are
/// planned with the new namespace in the statistics (PostgresMemoryStore+Statistics).
@Suite("PostgreSQL statistics after large writes", .enabled(if: TestServer.url != nil, "PostgreSQL tests skipped: AGENT_MEMORY_TEST_POSTGRES_URL is not set"))
struct PostgresStatisticsTests {
    let main = try! Namespace("main")

    /// Whether `schema`'s `memory_records` has planner statistics (an `ANALYZE` ran on it).
    private static func analyzed(_ schema: String) async throws -> Bool {
        let rows = try await TestServer.query(
            "SELECT count(*)::text FROM pg_stats WHERE schemaname = '\(schema)' AND tablename = 'memory_records' AND attname = 'namespace'")
        return rows.first.flatMap { $0 } == "1"
    }

    /// A batch of `count` new keys from `start`.
    private static func batch(_ start: Int, count: Int) -> [MemoryOperation] {
        (start..<(start + count)).map { .put(key: MemoryKey(checked: "note/\($0)"), value: .string("note number \($0) about the garden")) }
    }

    /// The store's first write creates the tables; autovacuum is then switched off for them, so
    /// that only the store's own `ANALYZE` can make statistics.
    private static func storeWithoutAutovacuum(_ schema: String, maintenanceInterval: Duration = .seconds(3_600)) async throws -> PostgresMemoryStore {
        let store = try TestServer.store(schema: schema, maintenanceInterval: maintenanceInterval)
        try await store.put("first", value: 1, in: try Namespace("other"))
        _ = try await TestServer.query("ALTER TABLE \(schema).memory_records SET (autovacuum_enabled = false)")
        return store
    }

    /// `memory_records`' row count as its last analysis found it (-1 before any).
    private static func analyzedRows(_ schema: String) async throws -> String? {
        try await TestServer.query("SELECT reltuples::bigint::text FROM pg_class WHERE oid = '\(schema).memory_records'::regclass").first ?? nil
    }

    @Test func aBulkWriteThatReachesTheThresholdAnalyzesBeforeItReturns() async throws {
        try await TestServer.withSchema { schema in
            let store = try await Self.storeWithoutAutovacuum(schema)
            let size = PostgresMemoryStore.bulkWrite
            let batches = PostgresMemoryStore.analyzeThreshold / size
            var written = 0
            func write(_ count: Int) async throws {
                for _ in 0..<count {
                    _ = try await store.batch(Self.batch(written, count: size), in: main)
                    written += size
                }
            }
            // The first bulk write finds the planner expecting almost none of its rows (the
            // table has no statistics): it analyzes (see the test below).
            try await write(1)
            #expect(try await Self.analyzedRows(schema) == "\(written + 1)")
            // From there the schedule: one record written before, the batches before the last
            // stay under the threshold.
            try await write(batches - 1)
            #expect(try await Self.analyzedRows(schema) == "\(size + 1)")
            try await write(1)
            #expect(try await Self.analyzedRows(schema) == "\(written + 1)")
            // The next analysis waits for twice as many records.
            try await write(2 * batches - 1)
            #expect(try await Self.analyzedRows(schema) == "\((batches + 1) * size + 1)")
            try await write(1)
            #expect(try await Self.analyzedRows(schema) == "\(written + 1)")
            try await store.close()
        }
    }

    /// Statistics taken when the table held three namespaces of one record each: the planner
    /// takes a namespace it does not know for one row (it read a search's matches through the
    /// namespace's whole range of the primary key).
    @Test func aBulkWriteToANamespaceTheStatisticsDoNotKnowAnalyzes() async throws {
        try await TestServer.withSchema { schema in
            let store = try await Self.storeWithoutAutovacuum(schema)
            for name in ["a", "b"] { try await store.put("first", value: 1, in: try Namespace(name)) }
            _ = try await TestServer.query("ANALYZE \(schema).memory_records")
            #expect(try await Self.expectedRows(schema, namespace: "main") == 1)
            // Fewer operations than a bulk write: no look at the statistics.
            _ = try await store.batch(Self.batch(0, count: PostgresMemoryStore.bulkWrite - 1), in: main)
            #expect(try await Self.analyzedRows(schema) == "3")
            // A bulk write: the planner expects one row of its 1,000, and the store analyzes.
            let bulk = PostgresMemoryStore.bulkWrite
            _ = try await store.batch(Self.batch(bulk, count: bulk), in: main)
            #expect(try await Self.analyzedRows(schema) == "\(3 + 2 * bulk - 1)")
            #expect(try await Self.expectedRows(schema, namespace: "main") ?? 0 >= 2 * bulk - 100)
            // Once per namespace and store: statistics made stale for `main` again (taken with
            // its rows gone, then rows added behind their back) are not looked at by this store.
            _ = try await TestServer.query("DELETE FROM \(schema).memory_records WHERE namespace = 'main'")
            _ = try await TestServer.query("ANALYZE \(schema).memory_records")
            try await PostgresSearchIndexingTests.insertUnindexed(schema, namespace: "main", count: 2 * bulk)
            #expect(try await Self.expectedRows(schema, namespace: "main") == 1)
            _ = try await store.batch(Self.batch(10 * bulk, count: bulk), in: main)
            #expect(try await Self.analyzedRows(schema) == "3")
            try await store.close()
            // Another store's bulk write to the namespace, now known: no analysis.
            // Another store looks, and analyzes the stale statistics (once: its next bulk write
            // does not look again).
            let second = try TestServer.store(schema: schema, maintenanceInterval: .seconds(3_600))
            _ = try await second.batch(Self.batch(20 * bulk, count: bulk), in: main)
            #expect(try await Self.analyzedRows(schema) == "\(3 + 4 * bulk)")
            _ = try await second.batch(Self.batch(30 * bulk, count: bulk), in: main)
            #expect(try await Self.analyzedRows(schema) == "\(3 + 4 * bulk)")
            try await second.close()
        }
    }

    /// A namespace filled by writes too small to look (here rows inserted directly), whose
    /// first search counts its documents: that search analyzes, from 1,000 documents.
    @Test func aSearchOfANamespaceTheStatisticsDoNotKnowAnalyzes() async throws {
        try await TestServer.withSchema { schema in
            let store = try await Self.storeWithoutAutovacuum(schema)
            for name in ["a", "b"] { try await store.put("first", value: 1, in: try Namespace(name)) }
            _ = try await TestServer.query("ANALYZE \(schema).memory_records")
            let bulk = PostgresMemoryStore.bulkWrite
            try await PostgresSearchIndexingTests.insertUnindexed(schema, namespace: "small", count: bulk - 1)
            #expect(try await !store.search("bulk record", in: try Namespace("small"), limit: 5).isEmpty)
            #expect(try await Self.analyzedRows(schema) == "3")
            try await PostgresSearchIndexingTests.insertUnindexed(schema, namespace: "main", count: 5 * bulk)
            #expect(try await Self.expectedRows(schema, namespace: "main") == 1)
            #expect(try await !store.search("bulk record", in: main, limit: 5).isEmpty)
            #expect(try await Self.analyzedRows(schema) == "\(3 + 6 * bulk - 1)")
            #expect(try await Self.expectedRows(schema, namespace: "main") ?? 0 >= 5 * bulk - 500)
            try await store.close()
        }
    }

    /// The planner's estimate of `namespace`'s rows in `schema`.
    private static func expectedRows(_ schema: String, namespace: String) async throws -> Int? {
        let plan = try await TestServer.query("EXPLAIN SELECT 1 FROM \(schema).memory_records WHERE namespace = '\(namespace)'")
        return plan.first.flatMap { $0 }.flatMap(PostgresMemoryStore.estimatedRows)
    }

    @Test func smallWritesLeaveTheAnalysisToMaintenance() async throws {
        try await TestServer.withSchema { schema in
            // Maintenance would not run within the test: small writes past the threshold wait.
            let store = try await Self.storeWithoutAutovacuum(schema)
            let size = PostgresMemoryStore.bulkWrite - 1
            var written = 1
            while written < PostgresMemoryStore.analyzeThreshold {
                _ = try await store.batch(Self.batch(written, count: size), in: main)
                written += size
            }
            #expect(try await !Self.analyzed(schema))
            try await store.close()
        }
        try await TestServer.withSchema { schema in
            // Maintenance on a short timer analyzes once the small writes reach the threshold.
            let store = try await Self.storeWithoutAutovacuum(schema, maintenanceInterval: .milliseconds(50))
            let size = PostgresMemoryStore.bulkWrite - 1
            var written = 1
            while written < PostgresMemoryStore.analyzeThreshold - size {
                _ = try await store.batch(Self.batch(written, count: size), in: main)
                written += size
            }
            // Below the threshold, maintenance has ticked many times and analyzed nothing.
            try await Task.sleep(for: .milliseconds(300))
            #expect(try await !Self.analyzed(schema))
            _ = try await store.batch(Self.batch(written, count: size), in: main)
            try await waitUntil { try await Self.analyzed(schema) }
            try await store.close()
        }
    }
}
