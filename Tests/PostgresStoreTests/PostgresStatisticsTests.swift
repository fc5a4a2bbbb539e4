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

    @Test func aBulkWriteThatReachesTheThresholdAnalyzesBeforeItReturns() async throws {
        try await TestServer.withSchema { schema in
            let store = try await Self.storeWithoutAutovacuum(schema)
            let batches = PostgresMemoryStore.analyzeThreshold / PostgresMemoryStore.bulkWrite
            // One record written already: the batches before the last stay under the threshold.
            for index in 0..<(batches - 1) {
                _ = try await store.batch(Self.batch(index * 1_000, count: 1_000), in: main)
            }
            #expect(try await !Self.analyzed(schema))
            _ = try await store.batch(Self.batch((batches - 1) * 1_000, count: 1_000), in: main)
            #expect(try await Self.analyzed(schema))
            // Counting starts again: the next bulk write does not analyze (the statistics' row
            // count would move only with another analysis).
            let counted = try await TestServer.query("SELECT reltuples::bigint::text FROM pg_class WHERE oid = '\(schema).memory_records'::regclass")
            #expect(counted == ["\(batches * 1_000 + 1)"])
            _ = try await store.batch(Self.batch(batches * 1_000, count: 1_000), in: main)
            #expect(try await TestServer.query("SELECT reltuples::bigint::text FROM pg_class WHERE oid = '\(schema).memory_records'::regclass") == counted)
            try await store.close()
        }
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
