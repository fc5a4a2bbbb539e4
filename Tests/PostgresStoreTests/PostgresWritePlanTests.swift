import AgentMemoryCore
import AgentMemoryJSON
import AgentMemoryPostgres
import Foundation
import Logging
import PostgresNIO
import Testing

/// The writes of many keys find their rows by one probe of the primary key per key, whatever
/// the planner knows of the table. Seeing its arrays' length, the planner
/// hashed a scan of the namespace's whole table to join 2,000 keys (BENCHMARKS.md, rounds
/// fifty-one and fifty-three).
@Suite("PostgreSQL writes of many keys", .enabled(if: TestServer.url != nil, "PostgreSQL tests skipped: AGENT_MEMORY_TEST_POSTGRES_URL is not set"))
struct PostgresWritePlanTests {
    @Test func anOptimisticWriteOfTwoThousandUpdatesAndDeletesProbesThePrimaryKeyOncePerKey() async throws {
        try await Self.withAnalyzedTable { schema in
            var statement = OptimisticWriteStatement()
            let time = Date()
            for index in 1...2_000 {
                let key = MemoryKey(checked: "bulk/\(index * 10)")
                let stamp = ReadStamp(version: 1, created: 0, updated: 0, expires: nil, size: 20)
                if index % 4 == 0 {
                    statement.remove(key: key, expected: stamp)
                    statement.log(key: key, change: ChangeDraft(operation: .delete, version: 1, author: nil, time: time))
                } else {
                    let record = MemoryRecord(key: key.rawValue, value: .string("changed"), version: 2, createdAt: time, updatedAt: time)
                    statement.store(key: key, record: record, json: "\"changed\"", size: 9, replacing: stamp)
                    statement.log(key: key, change: ChangeDraft(operation: .put, version: 2, author: nil, time: time))
                }
            }
            let plan = try await Self.plan(of: statement.query(namespace: "main", channel: "agent_memory_changes.\(schema)", token: "plan"), in: schema)
            // Both the update's and the delete's rows are probed, then reached by tuple id;
            // nothing scans the table.
            #expect(plan.filter { $0.contains("Index Scan using memory_records_pkey on memory_records x") }.count == 2, "\(plan)")
            #expect(plan.filter { $0.contains("Tid Scan on memory_records m") }.count == 2, "\(plan)")
            #expect(PostgresStaleStatisticsTests.probes(plan) && !PostgresStaleStatisticsTests.scansTheNamespace(plan), "\(plan)")
            #expect(!plan.contains { $0.contains("Hash Join") }, "\(plan)")
        }
    }

    /// The reads of many keys before a write (optimistic, and locked under the namespace's
    /// lock) and the locked write's delete probe the primary key once per key. As
    /// `key = ANY($keys)` the locked read and the delete scanned the whole table, and the
    /// optimistic read the namespace's whole range of the primary key.
    @Test func theReadsOfTwoThousandKeysAndTheLockedDeleteProbeThePrimaryKeyOncePerKey() async throws {
        try await Self.withAnalyzedTable { schema in
            let keys = (1...2_000).map { "bulk/\($0 * 10)" }
            let time = Date()
            var stored = StoredColumns()
            var logged = ChangeColumns()
            for key in keys.prefix(1_500) {
                let record = MemoryRecord(key: key, value: .string("changed"), version: 2, createdAt: time, updatedAt: time)
                stored.append(key: MemoryKey(checked: key), record: record, json: "\"changed\"", size: 9)
            }
            for key in keys {
                logged.append(key: MemoryKey(checked: key), change: ChangeDraft(operation: .put, version: 2, author: nil, time: time))
            }
            let statements = [
                ("optimistic read", OptimisticRead.query(namespace: "main", keys: keys, valueKeys: [])),
                ("locked read", LockedWrite.load(namespace: "main", keys: keys, valueKeys: Array(keys.prefix(10)))),
                ("locked write", LockedWrite.flush(
                    namespace: "main", channel: "agent_memory_changes.\(schema)", removed: Array(keys.suffix(500)),
                    stored: stored, logged: logged)),
            ]
            for (name, statement) in statements {
                let plan = try await Self.plan(of: statement, in: schema)
                #expect(PostgresStaleStatisticsTests.probes(plan), "\(name): \(plan)")
                #expect(!PostgresStaleStatisticsTests.scansTheNamespace(plan), "\(name): \(plan)")
                // A scan of the namespace's range with the keys as a filter.
                #expect(!plan.contains { $0.contains("key = ANY") }, "\(name): \(plan)")
            }
        }
    }

    /// Runs `body` on a schema whose namespace `main` holds 40,000 records (`bulk/1` to
    /// `bulk/40000`, as ``PostgresSearchIndexingTests/insertUnindexed(_:namespace:count:)``
    /// writes them) and whose table has statistics, as a store's grows to have.
    static func withAnalyzedTable(_ body: (String) async throws -> Void) async throws {
        try await TestServer.withSchema { schema in
            let store = try TestServer.store(schema: schema, maintenanceInterval: .seconds(3_600))
            try await store.put("seed", value: 1, in: try Namespace("main"))
            try await store.close()
            try await PostgresSearchIndexingTests.insertUnindexed(schema, namespace: "main", count: 40_000)
            _ = try await TestServer.query("ANALYZE \(schema).memory_records")
            try await body(schema)
        }
    }

    /// The lines of `EXPLAIN` of `query` in `schema`, with its parameters bound.
    static func plan(of query: PostgresQuery, in schema: String) async throws -> [String] {
        let connection = try await TestServer.connection()
        return try await closing(connection) {
            let logger = Logger(label: "agent-memory-tests")
            _ = try await connection.query("SET search_path TO \(unescaped: schema)", logger: logger).collect()
            return try await connection.query(PostgresQuery(unsafeSQL: "EXPLAIN " + query.sql, binds: query.binds), logger: logger)
                .collect().map { try $0.decode(String.self) }
        }
    }
}
