import AgentMemoryCore
import AgentMemoryJSON
import AgentMemoryPostgres
import Foundation
import Logging
import PostgresNIO
import Testing

/// Search catch-ups at the same time: the lock each part of a split catch-up takes
/// (`PostgresSearchIndexingPart`), so that parts of the same number of two catch-ups never
/// compute the same records together, and a search whose catch-up found its records computed
/// by another.
@Suite("PostgreSQL search catch-ups at the same time", .enabled(if: TestServer.url != nil, "PostgreSQL tests skipped: AGENT_MEMORY_TEST_POSTGRES_URL is not set"))
struct PostgresConcurrentCatchUpTests {
    let main = try! Namespace("main")
    private let logger = Logger(label: "agent-memory-tests")

    /// A connection of the test's own on `schema`, its backend named `application`.
    private static func session(_ schema: String, _ application: String) async throws -> PostgresConnection {
        let connection = try await TestServer.connection()
        do {
            _ = try await connection.query("SET search_path TO \(unescaped: schema)", logger: Logger(label: "agent-memory-tests")).collect()
            _ = try await connection.query("SET application_name TO '\(unescaped: application)'", logger: Logger(label: "agent-memory-tests")).collect()
        } catch {
            try? await connection.close()
            throw error
        }
        return connection
    }

    /// Whether the backend named `waiter` waits for the one named `holder`.
    private static func blocked(_ waiter: String, by holder: String) async throws -> Bool {
        try await TestServer.query("""
            SELECT count(*)::text FROM pg_stat_activity w, pg_stat_activity h
            WHERE w.application_name = '\(waiter)' AND h.application_name = '\(holder)' AND h.pid = ANY (pg_blocking_pids(w.pid))
            """) == ["1"]
    }

    /// Runs the whole of part 0 of 1 of `main`'s catch-up on `connection`: the documents it
    /// computed, the records it picked, whether it went ahead, whether another had the part.
    private static func part(on connection: PostgresConnection) async throws -> (Int, Int, Bool, Bool) {
        let statement = PostgresSearchIndexingPart.catchUp(namespace: "main", part: 0, parts: 1, limit: 4_096)
        let rows = try await connection.query(statement, logger: Logger(label: "agent-memory-tests")).collect()
        return try rows[0].decode((Int, Int, Bool, Bool).self)
    }

    /// The deadlock the lock prevents, built step by step. A part whose statement began before
    /// a writer committed locks the writer's new versions (to recheck them) in the order of the
    /// old rows (x, m, y); a part that began after the commit, in the order of the new ones (y,
    /// x, m). Without the lock the second takes y and waits for x, while the first holds x and
    /// waits for y.
    @Test func aPartBegunBeforeAWriteAndOneBegunAfterItDoNotDeadlock() async throws {
        try await TestServer.withSchema { schema in
            let store = try TestServer.store(schema: schema)
            try await store.put("first", value: "made the schema and the counter row", in: main)
            try await store.catchUpSearchIndex()
            try await store.close()
            for key in ["x", "m", "y"] {
                _ = try await TestServer.query("""
                    INSERT INTO \(schema).memory_records (namespace, key, value, value_text, version, created_at, updated_at, size)
                    VALUES ('main', '\(key)', '"old"', '"old"', 1, now(), now(), 5)
                    """)
            }
            let tag = "pgtest-\(UUID().uuidString.prefix(8).lowercased())"
            let (first, second, holder) = ("\(tag)-a", "\(tag)-b", "\(tag)-y")
            let a = try await Self.session(schema, first)
            let b = try await Self.session(schema, second)
            let y = try await Self.session(schema, holder)
            let writer = try await TestServer.connection()
            try await closing(a) { try await closing(b) { try await closing(y) { try await closing(writer) {
                // The counter row is held; part A begins (its snapshot before the write) and waits.
                let counter = try await RowLockHolder.lock(namespace: "main", schema: schema)
                _ = try await writer.query("BEGIN", logger: logger).collect()
                for key in ["y", "x", "m"] {
                    _ = try await writer.query(
                        "UPDATE \(unescaped: schema).memory_records SET value = '\"changed\"', value_text = '\"changed\"', search_vector = NULL WHERE key = \(key)",
                        logger: logger
                    ).collect()
                }
                let partA = Task { try await Self.part(on: a) }
                try await waitUntil { try await TestServer.backendsWaitingOnALock(application: first) == 1 }
                _ = try await writer.query("COMMIT", logger: logger).collect()
                // m's new version is held, so A stops there, holding x's.
                _ = try await y.query("BEGIN", logger: logger).collect()
                _ = try await y.query("SELECT 1 FROM memory_records WHERE key = 'm' FOR UPDATE", logger: logger).collect()
                try await counter.release()
                try await waitUntil { try await Self.blocked(first, by: holder) }
                // Part B of the same number begins after the write: A has the part, so B computes nothing.
                // (Without the lock, B takes y's new version and waits for x's, held by A.)
                let finished = Locked(false)
                let partB = Task {
                    defer { finished.withLock { $0 = true } }
                    return try await Self.part(on: b)
                }
                try await waitUntil {
                    if finished.withLock({ $0 }) { return true }
                    return try await Self.blocked(second, by: first)
                }
                _ = try await y.query("COMMIT", logger: logger).collect()
                let (computedB, _, wentAheadB, takenB) = try await partB.value
                #expect(computedB == 0 && !wentAheadB && takenB)
                let (computedA, pickedA, wentAheadA, takenA) = try await partA.value
                // A locked the new versions but computed none: its update, a TID scan, finds their
                // addresses not among those it picked, and leaves them to the next statement.
                #expect(computedA == 0 && pickedA == 3 && wentAheadA && !takenA, "\(computedA) \(pickedA) \(wentAheadA) \(takenA)")
                // The wait for the part returns once A is done, and B then computes them.
                _ = try await b.query(PostgresSearchIndexingPart.busy(namespace: "main", part: 0), logger: logger).collect()
                let again = try await Self.part(on: b)
                #expect(again.0 == 3 && again.1 == 3 && again.2 && !again.3, "\(again)")
            } } } }
            // Each document is of the written value.
            #expect(try await TestServer.query("""
                SELECT key FROM \(schema).memory_records WHERE search_vector @@ to_tsquery('english', 'changed') ORDER BY key
                """) == ["m", "x", "y"])
            #expect(try await PostgresSearchIndexingTests.unindexed(schema) == [])
        }
    }

    @Test func aCatchUpWaitsForAnotherCatchUpsPartThenComputesOnlyWhatItLeft() async throws {
        _ = try await TestServer.withLoggingStore { store, schema, application in
            let records = PostgresMemoryStore.searchCatchUpSplit + 200
            _ = try await store.batch(
                (0..<records).map { .put(key: MemoryKey(checked: "note/\($0)"), value: .string("note \($0) about the garden")) }, in: main)
            let counts = try await TestServer.query("""
                SELECT count(*)::text FROM \(schema).memory_records WHERE (hashtext(key) & 2147483647) % 2 = 0
                GROUP BY key LIKE '%0' ORDER BY key LIKE '%0'
                """).map { Int($0 ?? "") ?? -1 }
            try #require(counts.count == 2)
            let (zero, elsewhere) = (counts[0] + counts[1], counts[1])
            // Another catch-up (the test's transaction) has part 0, and computed some of its
            // records when the store's catch-up begins.
            let other = try await TestServer.connection()
            let search = try await closing(other) {
                _ = try await other.query("BEGIN", logger: logger).collect()
                _ = try await other.query("SET LOCAL search_path TO \(unescaped: schema)", logger: logger).collect()
                // (The lock a part's caller waits on, held to the transaction's end.)
                _ = try await other.query(PostgresSearchIndexingPart.busy(namespace: "main", part: 0), logger: logger).collect()
                _ = try await other.query("""
                    UPDATE memory_records SET search_vector = to_tsvector('simple', 'computed elsewhere')
                    WHERE (hashtext(key) & 2147483647) % 2 = 0 AND key LIKE '%0'
                    """, logger: logger).collect()
                let search = Task { try await store.search("garden", in: self.main, limit: 3) }
                // The store's part 0 waits for the lock; its part 1 is computed meanwhile.
                try await waitUntil {
                    let waiting = try await TestServer.backendsWaitingOnALock(application: application)
                    guard waiting == 1 else { return false }
                    return try await PostgresSearchIndexingTests.unindexed(schema).count == zero
                }
                _ = try await other.query("COMMIT", logger: logger).collect()
                return search
            }
            let hits = try #require(await outcome(of: search, within: 60), "the search hung").get()
            #expect(hits.count == 3)
            // The documents the other catch-up computed are kept; the rest of part 0 is computed
            // after it, by a statement begun after it committed.
            let documents = try await TestServer.query("""
                SELECT part || ' ' || elsewhere || ' ' || garden || ' ' || count(*) FROM (
                    SELECT (hashtext(key) & 2147483647) % 2 AS part, search_vector @@ to_tsquery('simple', 'elsewhere') AS elsewhere,
                           search_vector @@ to_tsquery('english', 'garden') AS garden
                    FROM \(schema).memory_records
                ) AS records GROUP BY part, elsewhere, garden ORDER BY 1
                """)
            #expect(documents == ["0 false true \(zero - elsewhere)", "0 true false \(elsewhere)", "1 false true \(records - zero)"], "\(documents)")
        }
    }

    @Test func aSearchWhoseRecordsAnotherCatchUpComputedMeanwhileFindsThem() async throws {
        _ = try await TestServer.withLoggingStore { store, schema, application in
            try await store.put("music", value: "She is learning to play the violin with a teacher", in: main)
            try await store.put("garden", value: "Planting tomatoes and basil", in: main)
            // Another catch-up holds the counter row and computes the documents.
            let other = try await RowLockHolder.lock(namespace: main.name, schema: schema)
            let search = try await closing(other.connection) {
                _ = try await other.connection.query("""
                    UPDATE \(unescaped: schema).memory_records SET search_vector = to_tsvector('english', value_text)
                    """, logger: logger).collect()
                // The search sees both records waiting, and its catch-up waits for the other.
                let search = Task { try await store.search("violin", in: self.main, limit: 3) }
                try await waitUntil { try await TestServer.backendsWaitingOnALock(application: application) == 1 }
                try await other.release()
                return search
            }
            // Its catch-up then computed none (the records were no longer waiting), and the
            // search ran again.
            let hits = try #require(await outcome(of: search, within: 60), "the search hung").get()
            #expect(hits.map(\.record.key) == ["music"])
        }
    }

    /// A search's statement counts the records waiting for a document in its own snapshot, also
    /// when it finds nothing. (It used to return no row then, and the store counted them with a
    /// second statement: a catch-up committed between the two left the miss unexplained, and
    /// the search returned it without running again.)
    @Test func aSearchsStatementCountsTheRecordsWaitingAlsoWhenItFindsNothing() async throws {
        try await TestServer.withSchema { schema in
            let store = try TestServer.store(schema: schema, maintenanceInterval: .seconds(3_600))
            try await store.put("music", value: "She is learning to play the violin", in: main)
            try await store.put("garden", value: "Planting tomatoes and basil", in: main)
            try await store.close()
            let connection = try await Self.session(schema, "pgtest-search-statement")
            try await closing(connection) {
                func search(_ word: String) async throws -> [String] {
                    let statement = PostgresMemoryStore.searchStatement(["'\(word)'"], namespace: "main", now: nil, limit: 50, cached: nil)
                    return try await connection.query(statement, logger: logger).collect().map { row in
                        let cells = row.makeRandomAccess()
                        return "\(try cells[0].decode(String?.self) ?? "-") \(try cells[11].decode(Int.self))"
                    }
                }
                #expect(try await search("violin") == ["- 2"])
                _ = try await connection.query("""
                    UPDATE memory_records SET search_vector = to_tsvector('english', value_text) WHERE key = 'music'
                    """, logger: logger).collect()
                #expect(try await search("violin") == ["music 1"])
                #expect(try await search("tomatoes") == ["- 1"])
                #expect(try await search("nowhere") == ["- 1"])
            }
        }
    }
}
