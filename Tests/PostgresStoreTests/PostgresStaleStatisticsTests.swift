import AgentMemoryCore
import AgentMemoryJSON
import AgentMemoryPostgres
import Foundation
import PostgresNIO
import Testing

/// The statements that find rows by key probe the primary key with the key, even where the
/// table's statistics are older than the namespace's rows: a namespace filled since the last
/// `ANALYZE`, which the planner takes for one row.
///
/// As joins of the keys with the table, the planner put the table outside and read the
/// namespace's whole range of the primary key to match the keys: every single `put` scanned
/// all of its namespace's rows (24 to 39 ms a put in a namespace of 14,000 records;
/// BENCHMARKS.md, round fifty-seven).
@Suite("PostgreSQL plans under stale statistics", .enabled(if: TestServer.url != nil, "PostgreSQL tests skipped: AGENT_MEMORY_TEST_POSTGRES_URL is not set"))
struct PostgresStaleStatisticsTests {
    @Test func theSingleWriteAndReadProbeTheirKey() async throws {
        try await Self.withStaleStatistics { schema in
            let key = MemoryKey(checked: "bulk/77")
            let time = Date()
            let stamp = ReadStamp(version: 1, created: 0, updated: 0, expires: nil, size: 20)
            let record = MemoryRecord(key: key.rawValue, value: .string("changed"), version: 2, createdAt: time, updatedAt: time)
            let change = ChangeDraft(operation: .put, version: 2, author: nil, time: time)
            let statements: [(String, PostgresQuery)] = [
                ("single update", SingleOptimisticWrite.query(
                    namespace: "main", channel: "c", key: key.rawValue,
                    action: .update(record, json: "\"changed\"", size: 9, expected: stamp), change: change, token: "t")),
                ("single delete", SingleOptimisticWrite.query(
                    namespace: "main", channel: "c", key: key.rawValue, action: .remove(expected: stamp),
                    change: ChangeDraft(operation: .delete, version: 1, author: nil, time: time), token: "t")),
                ("single read", SingleOptimisticRead.query(namespace: "main", key: key.rawValue, withValue: false)),
            ]
            for (name, statement) in statements {
                let plan = try await PostgresWritePlanTests.plan(of: statement, in: schema)
                #expect(Self.probes(plan), "\(name): \(plan)")
                #expect(!Self.scansTheNamespace(plan), "\(name): \(plan)")
            }
        }
    }

    @Test func theWritesAndReadsOfManyKeysProbeEachKey() async throws {
        try await Self.withStaleStatistics { schema in
            let keys = (1...2_000).map { "bulk/\($0 * 10)" }
            let time = Date()
            var optimistic = OptimisticWriteStatement()
            var stored = StoredColumns()
            var logged = ChangeColumns()
            for (index, name) in keys.enumerated() {
                let key = MemoryKey(checked: name)
                let stamp = ReadStamp(version: 1, created: 0, updated: 0, expires: nil, size: 20)
                let record = MemoryRecord(key: name, value: .string("changed"), version: 2, createdAt: time, updatedAt: time)
                let change = ChangeDraft(operation: index % 4 == 0 ? .delete : .put, version: 2, author: nil, time: time)
                if index % 4 == 0 {
                    optimistic.remove(key: key, expected: stamp)
                } else {
                    optimistic.store(key: key, record: record, json: "\"changed\"", size: 9, replacing: stamp)
                    stored.append(key: key, record: record, json: "\"changed\"", size: 9)
                }
                optimistic.log(key: key, change: change)
                logged.append(key: key, change: change)
            }
            let removed = keys.enumerated().filter { $0.offset % 4 == 0 }.map(\.element)
            let statements: [(String, PostgresQuery)] = [
                ("optimistic write", optimistic.query(namespace: "main", channel: "c", token: "t")),
                ("optimistic read", OptimisticRead.query(namespace: "main", keys: keys, valueKeys: [])),
                ("locked read", LockedWrite.load(namespace: "main", keys: keys, valueKeys: Array(keys.prefix(10)))),
                ("locked write", LockedWrite.flush(namespace: "main", channel: "c", removed: removed, stored: stored, logged: logged)),
                ("records read", RecordsRead.query(namespace: "main", keys: keys, now: nil)),
            ]
            for (name, statement) in statements {
                let plan = try await PostgresWritePlanTests.plan(of: statement, in: schema)
                #expect(!Self.scansTheNamespace(plan), "\(name): \(plan)")
            }
            // The writes reach the rows they probed by tuple id.
            for (name, statement) in statements.prefix(4) where name.contains("write") {
                let plan = try await PostgresWritePlanTests.plan(of: statement, in: schema)
                #expect(Self.probes(plan), "\(name): \(plan)")
                #expect(plan.contains { $0.contains("Tid Scan on memory_records m") }, "\(name): \(plan)")
            }
        }
    }

    /// Whether the plan probes the primary key with both the namespace and a key.
    static func probes(_ plan: [String]) -> Bool {
        plan.contains { $0.contains("Index Cond: ((namespace = ") && $0.contains("AND (key = ") }
    }

    /// Whether the plan reads memory_records' primary key by the namespace alone (its whole
    /// range), or the whole table.
    static func scansTheNamespace(_ plan: [String]) -> Bool {
        plan.indices.contains { index in
            if plan[index].contains("Seq Scan on memory_records") { return true }
            guard plan[index].contains("Scan using memory_records_pkey"), index + 1 < plan.count else { return false }
            return !plan[index + 1].contains("Index Cond: ((namespace = ") || !plan[index + 1].contains("AND (key = ")
        }
    }

    /// Runs `body` on a schema whose namespace `main` holds 40,001 records (`seed`, then
    /// `bulk/1` to `bulk/40000`) while the table's statistics are those of its one record: taken
    /// before the others came, and not taken again (autovacuum is off for the table).
    static func withStaleStatistics(_ body: (String) async throws -> Void) async throws {
        try await TestServer.withSchema { schema in
            let store = try TestServer.store(schema: schema, maintenanceInterval: .seconds(3_600))
            try await store.put("seed", value: 1, in: try Namespace("main"))
            try await store.close()
            _ = try await TestServer.query("ALTER TABLE \(schema).memory_records SET (autovacuum_enabled = false)")
            _ = try await TestServer.query("ANALYZE \(schema).memory_records")
            try await PostgresSearchIndexingTests.insertUnindexed(schema, namespace: "main", count: 40_000)
            try await body(schema)
        }
    }
}
