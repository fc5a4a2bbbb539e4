import AgentMemoryCore
import AgentMemoryJSON
import AgentMemoryPostgres
import Foundation
import Testing

/// The migration `2026-12-07.2-fewer-index-entries`: a search index without the records that
/// have no document yet, and a change log indexed by number only, pruned by age in number
/// order (its history of a key is the conformance suite's).
@Suite("PostgreSQL index entries per write", .enabled(if: TestServer.url != nil, "PostgreSQL tests skipped: AGENT_MEMORY_TEST_POSTGRES_URL is not set"))
struct PostgresIndexEntriesTests {
    let main = try! Namespace("main")

    /// The definitions of the indexes of `table` in `schema`, by name.
    private static func indexes(_ schema: String, _ table: String) async throws -> [String: String] {
        let rows = try await TestServer.query("""
            SELECT indexname || ' ' || indexdef FROM pg_indexes WHERE schemaname = '\(schema)' AND tablename = '\(table)'
            """)
        var definitions: [String: String] = [:]
        for row in rows.compactMap({ $0 }) {
            let (name, definition) = (String(row.prefix { $0 != " " }), String(row.drop { $0 != " " }.dropFirst()))
            definitions[name] = definition
        }
        return definitions
    }

    @Test func theSearchIndexLeavesOutRecordsWithoutADocumentAndStillServesSearches() async throws {
        try await TestServer.withSchema { schema in
            let store = try TestServer.store(schema: schema)
            try await store.put("drink", value: "green tea by the window", in: main)
            let records = try await Self.indexes(schema, "memory_records")
            #expect(records["memory_records_search"]?.hasSuffix("USING gin (search_vector) WHERE (search_vector IS NOT NULL)") == true,
                    "\(records)")
            let changes = try await Self.indexes(schema, "memory_changes")
            #expect(changes.keys.sorted() == ["memory_changes_pkey"])
            #expect(try await store.search("tea", in: main, limit: 10).map(\.record.key) == ["drink"])
            // A search's `@@` implies a document, so the partial index can serve it: with the
            // other ways to read the table turned off, the plan reads this index.
            let plan = try await TestServer.queries([
                "SET enable_seqscan = off", "SET enable_indexscan = off",
                "EXPLAIN SELECT key FROM \(schema).memory_records WHERE search_vector @@ to_tsquery('english', 'tea')",
            ])
            #expect(plan.contains { $0?.contains("Bitmap Index Scan on memory_records_search") == true }, "\(plan)")
            try await store.close()
        }
    }

    @Test func pruningByAgeStopsAtEachNamespacesFirstEntryYoungEnoughToKeep() async throws {
        try await TestServer.withSchema { schema in
            let clock = TestClock()
            let store = try TestServer.store(
                schema: schema, retention: ChangeLogRetention(maxAge: .seconds(86_400), maxEntriesPerNamespace: nil),
                maintenanceInterval: .seconds(3600), clock: clock.function)
            let other = try Namespace("other")
            try await store.put("old", value: 1, in: main)
            try await store.put("old", value: 1, in: other)
            clock.advance(seconds: 2 * 86_400)
            try await store.put("young", value: 2, in: main)
            // Written with a time before the entry numbered before it (a clock moved back).
            clock.advance(seconds: -2 * 86_400 + 1)
            try await store.put("earlier", value: 3, in: main)
            try await store.put("older", value: 3, in: other)
            clock.advance(seconds: 2 * 86_400 + 3_600)
            #expect(try await store.pruneChangeLog() == 3)
            // `main` keeps everything from its first young entry on, the earlier time included;
            // `other` had no young entry, so all of it went.
            #expect(try await store.changes(in: main, since: 0, limit: 10).map(\.key) == ["young", "earlier"])
            #expect(try await store.changes(in: main, since: 0, limit: 10).map(\.sequence) == [2, 3])
            #expect(try await store.changes(in: other, since: 0, limit: 10).isEmpty)
            // Numbers go on after a namespace's whole log was pruned.
            try await store.put("next", value: 4, in: other)
            #expect(try await store.changes(in: other, since: 0, limit: 10).map(\.sequence) == [3])
            #expect(try await store.pruneChangeLog() == 0)
            try await store.close()
        }
    }
}
