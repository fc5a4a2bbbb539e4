import AgentMemoryCore
import AgentMemoryJSON
import AgentMemoryPostgres
import Foundation
import PostgresNIO
import Testing

/// A read of many keys at once (a turn's prefetch, a many-key `get`, a search's neighbours)
/// probes the primary key once per key, whatever the planner knows of the table. As
/// `key = ANY($keys)` it read the whole table below about 150,000 rows; with the array's length
/// hidden from the planner it scanned the namespace's whole range of the key once it had
/// statistics of the namespace (BENCHMARKS.md, round fifty-one).
@Suite("PostgreSQL reads of many keys", .enabled(if: TestServer.url != nil, "PostgreSQL tests skipped: AGENT_MEMORY_TEST_POSTGRES_URL is not set"))
struct PostgresReadPlanTests {
    @Test func aReadOfTwoThousandKeysProbesThePrimaryKeyOncePerKey() async throws {
        try await TestServer.withSchema { schema in
            let store = try TestServer.store(schema: schema)
            try await store.put("seed", value: 1, in: try Namespace("main"))
            _ = try await TestServer.queries([
                """
                INSERT INTO \(schema).memory_records (namespace, key, value, value_text, version, created_at, updated_at, size)
                SELECT 'main', 'note/' || i, to_jsonb('note ' || i), to_jsonb('note ' || i)::text, 1, now(), now(), 12
                FROM generate_series(1, 20000) AS i
                """,
                "ANALYZE \(schema).memory_records",
            ])
            // Half the keys exist, half do not (a turn's mix of updates and new records).
            let names = (1...2_000).map { $0 % 2 == 1 ? "note/\($0 * 10)" : "new/\($0)" }
            let plan = try await TestServer.queries([
                "SET search_path = \(schema)", "PREPARE many_keys AS \(RecordsRead.template.sql)",
                "EXPLAIN EXECUTE many_keys('{\(names.joined(separator: ","))}', 'main', NULL)",
            ]).compactMap { $0 }
            #expect(plan.contains { $0.contains("Index Scan using memory_records_pkey") }, "\(plan)")
            #expect(plan.contains { $0.contains("Index Cond:") && $0.contains("key = wanted.name") }, "\(plan)")
            #expect(!plan.contains { $0.contains("Seq Scan on memory_records") }, "\(plan)")
            // And the read finds exactly the existing half.
            let found = try await store.get(names.map { MemoryKey(checked: $0) }, in: try Namespace("main"))
            #expect(found.count == 1_000)
            #expect(found[MemoryKey(checked: "note/30")]?.value == .string("note 30"))
            #expect(found[MemoryKey(checked: "new/2")] == nil)
            try await store.close()
        }
    }
}
