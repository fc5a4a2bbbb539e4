import AgentMemoryCore
import AgentMemoryJSON
import AgentMemoryPostgres
import Foundation
import Testing

/// A `recall` miss's suggestions on PostgreSQL: each step's range seeks go to the server as one
/// prepared statement of lateral index scans (the seeks as arrays), which must find what the
/// seeks find on the other stores. 3,000 filler keys (`notes/0000` ...) sort before the keys
/// under test, so a scan of the first keys would find none of them.
@Suite(
    "PostgreSQL store: recall miss suggestions", .serialized,
    .enabled(if: TestServer.url != nil, "PostgreSQL tests skipped: AGENT_MEMORY_TEST_POSTGRES_URL is not set"))
struct PostgresSuggestionTests {
    let main = try! Namespace("agent")

    @Test func aTypoOrTwoSwappedLettersFindTheKeyFirst() async throws {
        try await withStore(keys: ["prefs/theme", "prefs/language", "prefs/timezone"] + (1...200).map { "user/key\($0)" }) { store in
            let s1 = try await store.suggestKeys(near: "prefs/thme", in: main, limit: 3)
            #expect(s1.first == "prefs/theme")
            let s2 = try await store.suggestKeys(near: "prefs/tehme", in: main, limit: 3)
            #expect(s2.first == "prefs/theme")
            let s3 = try await store.suggestKeys(near: "prefs/languagee", in: main, limit: 3)
            #expect(s3.first == "prefs/language")
            let s4 = try await store.suggestKeys(near: "user/kye7", in: main, limit: 3)
            #expect(s4 == ["user/key7", "user/key70", "user/key97"])
        }
    }

    @Test func theSameNameUnderAnotherDirectoryIsFound() async throws {
        try await withStore(keys: ["work/project/deadline", "work/project/owner", "home/groceries"]) { store in
            let s5 = try await store.suggestKeys(near: "project/deadline", in: main, limit: 3)
            #expect(s5.contains("work/project/deadline"))
            let s6 = try await store.suggestKeys(near: "home/deadline", in: main, limit: 3)
            #expect(s6.contains("work/project/deadline"))
        }
    }

    @Test func nothingCloseSuggestsNothing() async throws {
        try await withStore(keys: ["prefs/theme", "work/project/deadline"]) { store in
            let s7 = try await store.suggestKeys(near: "zebra", in: main, limit: 3)
            #expect(s7 == [])
        }
    }

    /// Edits of single bytes inside a character of two bytes make bounds that are not UTF-8:
    /// those seeks are skipped, and the others still find the key.
    @Test func aKeyWithCharactersOfSeveralBytesIsFound() async throws {
        try await withStore(keys: ["prefs/thème"]) { store in
            let s8 = try await store.suggestKeys(near: "prefs/thèm", in: main, limit: 3)
            #expect(s8 == ["prefs/thème"])
            let s9 = try await store.suggestKeys(near: "prefs/thèmé", in: main, limit: 3)
            #expect(s9 == ["prefs/thème"])
        }
    }

    /// An expired key is not suggested: with the store's clock injected, the statement compares
    /// expiries with that clock's time (a parameter), not the database's.
    @Test func anExpiredKeyIsNotSuggested() async throws {
        let clock = TestClock()
        try await withStore(keys: ["prefs/theme"], clock: clock) { store in
            try await store.put("prefs/themes", value: "x", in: main, options: PutOptions(ttl: .seconds(60)))
            let s10 = try await store.suggestKeys(near: "prefs/them", in: main, limit: 3)
            #expect(s10 == ["prefs/theme", "prefs/themes"])
            clock.advance(seconds: 61)
            let s11 = try await store.suggestKeys(near: "prefs/them", in: main, limit: 3)
            #expect(s11 == ["prefs/theme"])
        }
    }

    /// A store on a fresh schema holding the filler keys and `keys`.
    private func withStore(keys: [String], clock: TestClock? = nil, _ body: (PostgresMemoryStore) async throws -> Void) async throws {
        try await TestServer.withSchema { schema in
            let store = try TestServer.store(schema: schema, clock: clock?.function)
            do {
                let filler = (0..<3_000).map { index in
                    MemoryOperation.put(key: MemoryKey(stringLiteral: "notes/\(String(format: "%04d", index))"), value: "x")
                }
                try await store.batch(filler + keys.map { .put(key: MemoryKey(stringLiteral: $0), value: "x") }, in: main)
                try await body(store)
            } catch {
                try? await store.close()
                throw error
            }
            try await store.close()
        }
    }
}
