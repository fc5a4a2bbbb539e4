import AgentMemoryCore
import AgentMemoryJSON
import AgentMemoryPostgres
import Foundation
import Testing

/// The search documents off the write path (PostgresSearchIndexing): writes leave them to a
/// catch-up, and a search still finds every write committed before it began.
@Suite("PostgreSQL search documents off the write path", .enabled(if: TestServer.url != nil, "PostgreSQL tests skipped: AGENT_MEMORY_TEST_POSTGRES_URL is not set"))
struct PostgresSearchIndexingTests {
    let main = try! Namespace("main")

    /// The keys of `namespace`'s records without a search document, in order.
    static func unindexed(_ schema: String, _ namespace: String = "main") async throws -> [String?] {
        try await TestServer.query(
            "SELECT key FROM \(schema).memory_records WHERE namespace = '\(namespace)' AND search_vector IS NULL ORDER BY key")
    }

    /// The keys a search of `query` finds, in rank order.
    private static func found(_ store: PostgresMemoryStore, _ query: String, in namespace: Namespace) async throws -> [String] {
        try await store.search(query, in: namespace, limit: 10).map(\.record.key)
    }

    @Test func writesLeaveTheDocumentAndTheNextSearchComputesItFirst() async throws {
        try await TestServer.withSchema { schema in
            let store = try TestServer.store(schema: schema)
            try await store.put("pets/cat", value: "Whiskers sleeps on the windowsill", in: main)
            try await store.put("pets/dog", value: "Rex chases the postman", in: main)
            #expect(try await Self.unindexed(schema) == ["pets/cat", "pets/dog"])
            #expect(try await Self.found(store, "windowsill", in: main) == ["pets/cat"])
            #expect(try await Self.unindexed(schema) == [])
            // An update clears the document: the old words are not found, the new ones are.
            try await store.put("pets/cat", value: "Whiskers hunts in the garden", in: main)
            #expect(try await Self.unindexed(schema) == ["pets/cat"])
            #expect(try await Self.found(store, "windowsill", in: main) == [])
            #expect(try await Self.found(store, "garden", in: main) == ["pets/cat"])
            // A batch (the executor's path) and another store's search.
            _ = try await store.batch(
                [.put(key: "pets/fish", value: "Bubbles swims in the garden pond"), .delete(key: "pets/dog")], in: main)
            let other = try TestServer.store(schema: schema)
            let gardens = try await Self.found(other, "garden", in: main)
            #expect(gardens.count == 2 && Set(gardens) == ["pets/fish", "pets/cat"], "\(gardens)")
            #expect(try await Self.found(other, "postman", in: main) == [])
            // The documents are those the generated column computed: keys weigh more than values.
            try await store.put("garden", value: "tools in the shed", in: main)
            #expect(try await Self.found(other, "garden", in: main).first == "garden")
            try await other.close()
            try await store.close()
        }
    }

    @Test func anUpdateThatKeepsTheDocumentHasItClearedByTheTrigger() async throws {
        try await TestServer.withSchema { schema in
            let store = try TestServer.store(schema: schema)
            try await store.put("note", value: "the meeting is on Monday", in: main)
            #expect(try await Self.found(store, "monday", in: main) == ["note"])
            // An older binary's update, or one written by hand, sets the value only.
            _ = try await TestServer.query("""
                UPDATE \(schema).memory_records SET value = '"the meeting moved to Thursday"'::jsonb,
                    value_text = '"the meeting moved to Thursday"' WHERE key = 'note'
                """)
            #expect(try await Self.unindexed(schema) == ["note"])
            #expect(try await Self.found(store, "thursday", in: main) == ["note"])
            #expect(try await Self.found(store, "monday", in: main) == [])
            // An update of other columns keeps it.
            _ = try await TestServer.query("UPDATE \(schema).memory_records SET author = 'someone' WHERE key = 'note'")
            #expect(try await Self.unindexed(schema) == [])
            try await store.close()
        }
    }

    /// `count` records without documents in `namespace`, as an older binary's inserts leave them.
    static func insertUnindexed(_ schema: String, namespace: String, count: Int) async throws {
        _ = try await TestServer.query("""
            INSERT INTO \(schema).memory_records (namespace, key, value, value_text, version, created_at, updated_at, size)
            SELECT '\(namespace)', 'bulk/' || i, to_jsonb('bulk record ' || i), to_jsonb('bulk record ' || i)::text, 1, now(), now(), 20
            FROM generate_series(1, \(count)) AS i
            """)
    }

    @Test func aClosingStoreComputesTheDocumentsOnlyWhenManyWait() async throws {
        try await TestServer.withSchema { schema in
            let threshold = PostgresMemoryStore.searchCatchUpThreshold
            let first = try TestServer.store(schema: schema)
            try await first.put("a", value: "alpha", in: main)
            try await Self.insertUnindexed(schema, namespace: "main", count: threshold - 2)
            try await first.close()
            // One short of the threshold: left to the next search.
            #expect(try await Self.unindexed(schema).count == threshold - 1)
            // A store that wrote 256 records always looks (fewer: a chance of that in 256).
            let second = try TestServer.store(schema: schema)
            _ = try await second.batch(
                (0..<PostgresMemoryStore.closeLookStride).map { .put(key: MemoryKey(checked: "b/\($0)"), value: "beta") }, in: main)
            try await second.close()
            #expect(try await Self.unindexed(schema).count == 0)
            // A store that wrote nothing there does not look.
            try await Self.insertUnindexed(schema, namespace: "other", count: threshold)
            let third = try TestServer.store(schema: schema)
            try await third.put("c", value: "gamma", in: main)
            try await third.close()
            #expect(try await Self.unindexed(schema, "other").count == threshold)
            #expect(try await Self.unindexed(schema) == ["c"])
        }
    }

    @Test func aBacklogLargerThanOneStatementsShareIsComputedWholeBeforeTheSearch() async throws {
        try await TestServer.withSchema { schema in
            let threshold = PostgresMemoryStore.searchCatchUpThreshold
            let store = try TestServer.store(schema: schema)
            try await store.put("a", value: "alpha", in: main)
            // Each catch-up statement computes up to 4,096 documents (the threshold's number).
            try await Self.insertUnindexed(schema, namespace: "main", count: 2 * threshold + 10)
            let hits = try await store.search("bulk record", in: main, limit: 3)
            #expect(hits.count == 3)
            #expect(try await Self.unindexed(schema) == [])
            try await store.close()
        }
    }

    @Test func aCloseLooksAlwaysFrom256RecordsWrittenAndOtherwiseWithThatChance() {
        let stride = PostgresMemoryStore.closeLookStride
        #expect(stride == 256)
        #expect(PostgresMemoryStore.closeLooks(written: stride, draw: stride - 1))
        #expect(PostgresMemoryStore.closeLooks(written: 5_000, draw: stride - 1))
        #expect(PostgresMemoryStore.closeLooks(written: 1, draw: 0))
        #expect(!PostgresMemoryStore.closeLooks(written: 1, draw: 1))
        #expect(PostgresMemoryStore.closeLooks(written: stride - 1, draw: stride - 2))
        #expect(!PostgresMemoryStore.closeLooks(written: stride - 1, draw: stride - 1))
        #expect((0..<stride).filter { PostgresMemoryStore.closeLooks(written: 3, draw: $0) }.count == 3)
    }

    @Test func aStoreThatKeepsWritingComputesTheDocumentsOfItsOwnWrites() async throws {
        try await TestServer.withSchema { schema in
            let threshold = PostgresMemoryStore.searchCatchUpThreshold
            let store = try TestServer.store(schema: schema)
            let half = threshold / 2
            func batch(_ start: Int, _ count: Int) -> [MemoryOperation] {
                (start..<(start + count)).map { .put(key: MemoryKey(checked: "n/\($0)"), value: .string("note \($0)")) }
            }
            _ = try await store.batch(batch(0, half), in: main)
            _ = try await store.batch(batch(half, half - 1), in: main)
            #expect(try await Self.unindexed(schema).count == threshold - 1)
            _ = try await store.batch(batch(threshold, 1), in: main)
            #expect(try await Self.unindexed(schema).count == 0)
            try await store.close()
        }
    }

    @Test func maintenanceComputesTheDocumentsOfEveryNamespace() async throws {
        try await TestServer.withSchema { schema in
            let store = try TestServer.store(schema: schema, maintenanceInterval: .milliseconds(100))
            try await store.put("a", value: "alpha", in: main)
            try await Self.insertUnindexed(schema, namespace: "other", count: 10)
            let deadline = ContinuousClock.now + scaled(.seconds(30))
            while ContinuousClock.now < deadline {
                let waiting = try await Self.unindexed(schema, "other").count + Self.unindexed(schema).count
                if waiting == 0 { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(try await Self.unindexed(schema, "other") == [])
            #expect(try await Self.unindexed(schema) == [])
            #expect(try await Self.found(store, "bulk", in: Namespace("other")).count == 10)
            try await store.close()
        }
    }

    @Test func writersAndSearchesOfOneNamespaceAtOnceNeitherFailNorMissAWrite() async throws {
        try await TestServer.withSchema { schema in
            let keys = (0..<40).map { "k\($0)" }
            let setup = try TestServer.store(schema: schema)
            _ = try await setup.batch(keys.map { .put(key: MemoryKey(checked: $0), value: "round0 start") }, in: main)
            try await Self.writeAndSearch(schema: schema, keys: keys, writers: 3, rounds: 15, searchers: 3, searches: 20) {
                round, writer, _ in "round\(round) writer\(writer)"
            }
            // Every key's last value is found by its words.
            let records = try await setup.allRecords(in: main)
            for record in records {
                guard case .string(let text) = record.value else { Issue.record("not a string: \(record.value)"); continue }
                let writer = try #require(text.split(separator: " ").last)
                let hits = try await setup.search(String(writer), in: main, limit: 100).map(\.record.key)
                #expect(hits.contains(record.key), "\(record.key): \(text)")
            }
            #expect(try await Self.unindexed(schema) == [])
            try await setup.close()
        }
    }

    /// `writers` stores each writing every key of `keys` in `rounds` batches (`value(round,
    /// writer, key)`, writer 0 in order, 1 in reverse, the others shuffled) while `searchers`
    /// stores each search `searches` times, all of `main` at once.
    static func writeAndSearch(
        schema: String, keys: [String], writers: Int, rounds: Int, searchers: Int, searches: Int,
        value: @escaping @Sendable (Int, Int, String) -> String
    ) async throws {
        let main = try Namespace("main")
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<writers {
                group.addTask {
                    let store = try TestServer.store(schema: schema)
                    for round in 1...rounds {
                        let order = writer == 0 ? keys : (writer == 1 ? keys.reversed() : keys.shuffled())
                        _ = try await store.batch(
                            order.map { .put(key: MemoryKey(checked: $0), value: .string(value(round, writer, $0))) }, in: main)
                    }
                    try await store.close()
                }
            }
            for _ in 0..<searchers {
                group.addTask {
                    let store = try TestServer.store(schema: schema)
                    for _ in 0..<searches { _ = try await store.search("writer1", in: main, limit: 5) }
                    try await store.close()
                }
            }
            try await group.waitForAll()
        }
    }

    @Test func aSchemaMigratedByANewerVersionIsRefusedAndLeftAsItIs() async throws {
        try await TestServer.withSchema { schema in
            let store = try TestServer.store(schema: schema)
            try await store.put("a", value: 1, in: main)
            try await store.close()
            _ = try await TestServer.query("INSERT INTO \(schema).agent_memory_migrations (identifier) VALUES ('2099-01-01.1-from-the-future')")
            let newer = try TestServer.store(schema: schema)
            let error = await #expect(throws: MemoryError.self) { try await newer.put("b", value: 2, in: main) }
            #expect(error?.code == .storage)
            #expect(error?.message.hasSuffix(
                "the PostgreSQL schema was written by a newer version of AgentMemory (it records the migration"
                    + " '2099-01-01.1-from-the-future', unknown to this version), which this version could damage by writing"
                    + " to it; use that version or a newer one") == true, "\(error?.message ?? "")")
            try await newer.close()
            #expect(try await TestServer.query("SELECT key FROM \(schema).memory_records") == ["a"])
        }
    }

    @Test func aSchemaOfTheGeneratedColumnKeepsItsDocumentsWhenMigrated() async throws {
        try await TestServer.withSchema { schema in
            // The schema as the migrations of 2026-11-25 left it, with one record in it.
            _ = try await TestServer.query("CREATE SCHEMA \(schema)")
            for statement in Self.generatedColumnSchema(schema) { _ = try await TestServer.query(statement) }
            _ = try await TestServer.query("""
                INSERT INTO \(schema).memory_records (namespace, key, value, value_text, version, created_at, updated_at, size)
                VALUES ('main', 'user.preferences', '{"drink": "green tea", "seat": "window"}', '{"drink": "green tea", "seat": "window"}', 1, now(), now(), 40)
                """)
            _ = try await TestServer.query("INSERT INTO \(schema).memory_namespaces VALUES ('main', 0)")
            let generated = try await TestServer.query("SELECT search::text FROM \(schema).memory_records")
            let store = try TestServer.store(schema: schema)
            #expect(try await Self.found(store, "preferences tea", in: main) == ["user.preferences"])
            // Kept, not computed again; and what the catch-up computes is the same document.
            #expect(try await Self.unindexed(schema) == [])
            #expect(try await TestServer.query("SELECT search_vector::text FROM \(schema).memory_records") == generated)
            // Renamed, so that older binaries' searches fail rather than miss records (README).
            let columns = try await TestServer.query("""
                SELECT column_name::text FROM information_schema.columns
                WHERE table_schema = '\(schema)' AND table_name = 'memory_records' AND column_name LIKE 'search%'
                """)
            #expect(columns == ["search_vector"])
            // And the later migration's indexes: the log's by number only, a partial search index.
            let logIndexes = try await TestServer.query(
                "SELECT indexname::text FROM pg_indexes WHERE schemaname = '\(schema)' AND tablename = 'memory_changes' ORDER BY 1")
            #expect(logIndexes == ["memory_changes_pkey"])
            let searchIndex = try await TestServer.query(
                "SELECT indexdef FROM pg_indexes WHERE schemaname = '\(schema)' AND indexname = 'memory_records_search'")
            #expect(searchIndex.first??.hasSuffix("WHERE (search_vector IS NOT NULL)") == true, "\(searchIndex)")
            _ = try await TestServer.query("UPDATE \(schema).memory_records SET search_vector = NULL")
            #expect(try await Self.found(store, "window", in: main) == ["user.preferences"])
            #expect(try await TestServer.query("SELECT search_vector::text FROM \(schema).memory_records") == generated)
            try await store.close()
        }
    }

    /// The tables of the migrations `2026-11-25.1` to `.3`, as they made them, and their records.
    private static func generatedColumnSchema(_ schema: String) -> [String] {
        [
            """
            CREATE TABLE \(schema).memory_records (
                namespace text COLLATE "C" NOT NULL, key text COLLATE "C" NOT NULL, value jsonb NOT NULL,
                value_text text NOT NULL, version bigint NOT NULL, created_at timestamptz NOT NULL,
                updated_at timestamptz NOT NULL, author text, expires_at timestamptz, size bigint NOT NULL,
                PRIMARY KEY (namespace, key))
            """,
            "CREATE INDEX memory_records_expiry ON \(schema).memory_records (expires_at) WHERE expires_at IS NOT NULL",
            """
            ALTER TABLE \(schema).memory_records ADD COLUMN search tsvector GENERATED ALWAYS AS (
                setweight(to_tsvector('english'::regconfig, regexp_replace(key, '[!-/:-@[-`{-~]+', ' ', 'g')), 'A') ||
                setweight(to_tsvector('english'::regconfig,
                    CASE WHEN jsonb_typeof(value) = 'string' THEN value #>> '{}' ELSE value_text END), 'B')
            ) STORED
            """,
            "CREATE INDEX memory_records_search ON \(schema).memory_records USING gin (search)",
            "CREATE TABLE \(schema).memory_namespaces (namespace text COLLATE \"C\" PRIMARY KEY, last_sequence bigint NOT NULL)",
            """
            CREATE TABLE \(schema).memory_changes (
                namespace text COLLATE "C" NOT NULL, sequence bigint NOT NULL, key text COLLATE "C" NOT NULL,
                operation text NOT NULL, version bigint NOT NULL, author text, time timestamptz NOT NULL,
                PRIMARY KEY (namespace, sequence))
            """,
            "CREATE INDEX memory_changes_by_key ON \(schema).memory_changes (namespace, key, sequence)",
            "CREATE INDEX memory_changes_by_time ON \(schema).memory_changes (time)",
            """
            CREATE TABLE \(schema).agent_memory_migrations (
                identifier text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT clock_timestamp())
            """,
            """
            INSERT INTO \(schema).agent_memory_migrations (identifier)
            VALUES ('2026-11-25.1-records'), ('2026-11-25.2-full-text'), ('2026-11-25.3-change-log')
            """,
        ]
    }
}
