import AgentMemoryCore
import AgentMemoryJSON
import AgentMemoryPostgres
import Foundation
import PostgresNIO
import Testing

/// The reads and writes of many keys at once (a turn's read, an optimistic write's read and its
/// updates) probe the primary key however many keys they are given. Told the number, the planner
/// expected a row per key and read the whole table instead, in every table below about 150,000 rows.
@Suite("PostgreSQL reads and writes of many keys", .enabled(if: TestServer.url != nil, "PostgreSQL tests skipped: AGENT_MEMORY_TEST_POSTGRES_URL is not set"))
struct PostgresReadPlanTests {
    @Test func readsAndWritesOfTwoThousandKeysProbeThePrimaryKeyOfATableOfTwentyThousand() async throws {
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
            let keys = "'{" + (1...2_000).map { "note/\($0 * 20 - ($0 % 2) * 30_000)" }.joined(separator: ",") + "}'"
            let reads = [
                ("the turn's read", RecordsRead.template.sql, "'main', \(keys), NULL"),
                ("the optimistic read", OptimisticRead.template.sql, "'{}', 'main', \(keys)"),
            ]
            for (name, sql, values) in reads {
                let plan = try await TestServer.queries([
                    "SET search_path = \(schema)", "PREPARE many_keys AS \(sql)", "EXPLAIN EXECUTE many_keys(\(values))",
                ]).compactMap { $0 }
                #expect(plan.contains { $0.contains("Index Scan using memory_records_pkey") }, "\(name): \(plan)")
                #expect(!plan.contains { $0.contains("Seq Scan on memory_records") }, "\(name): \(plan)")
            }
            // The optimistic write of 2,000 updates (every array of the statement 2,000 long).
            let prepared = try await TestServer.queries([
                "SET search_path = \(schema)", "PREPARE many_writes AS \(OptimisticWriteStatement.template.sql)",
                "SELECT array_to_string(parameter_types, ';') FROM pg_prepared_statements WHERE name = 'many_writes'",
            ])
            let types = try #require(prepared.last.flatMap { $0 }).split(separator: ";")
            let filled: [Substring: String] = [
                "text": "'main'", "bigint": "2000", "text[]": keys, "bigint[]": Self.literal(repeating: "1"),
                "double precision[]": Self.literal(repeating: "0"), "boolean[]": Self.literal(repeating: "f"),
            ]
            let values = try types.map { type in try #require(filled[type], "a parameter of type \(type)") }
            let plan = try await TestServer.queries([
                "SET search_path = \(schema)", "PREPARE many_writes AS \(OptimisticWriteStatement.template.sql)",
                "EXPLAIN EXECUTE many_writes(\(values.joined(separator: ", ")))",
            ]).compactMap { $0 }
            #expect(plan.contains { $0.contains("Index Scan using memory_records_pkey") }, "the write: \(plan)")
            #expect(!plan.contains { $0.contains("Seq Scan on memory_records") }, "the write: \(plan)")
            try await store.close()
        }
    }

    /// An array literal of 2,000 copies of `element`.
    private static func literal(repeating element: String) -> String {
        "'{" + Array(repeating: element, count: 2_000).joined(separator: ",") + "}'"
    }
}
