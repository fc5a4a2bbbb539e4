import AgentMemoryJSON
import AgentMemoryCore
import Testing

/// What search must never return, on every store: another namespace's records (not even as a
/// neighbour in a numbered sequence), expired records, text that was overwritten or deleted;
/// and queries are words, never FTS5 or SQL syntax.
@Suite("Search isolation")
struct SearchIsolationTests {
    /// A namespace's search sees none of another namespace's records, neither as hits nor as
    /// the neighbours whose words lend context (the same keys exist in both).
    @Test(arguments: StoreKind.allCases)
    func anotherNamespaceNeverLeaksIn(kind: StoreKind) async throws {
        let store = try kind.make()
        try await store.batch([
            .put(key: "chat/1", value: "Caroline: we adopted a puppy last week"),
            .put(key: "chat/3", value: "Caroline: the weather was fine"),
        ], in: main)
        try await store.batch((0..<30).map {
            .put(key: MemoryKey(checked: "chat/\($0)"), value: .string("Secret: puppy puppy adopted, the password is hunter\($0)"))
        }, in: other)
        let hits = try await store.search("adopted puppy", in: main, limit: 10)
        #expect(!hits.isEmpty)
        for hit in hits {
            #expect(try await store.get(MemoryKey(checked: hit.record.key), in: main) == hit.record)
            #expect(!hit.snippet.contains("Secret"))
            #expect(!SearchText.body(of: hit.record.value).contains("Secret"))
        }
        // The other namespace's chat/2 would be chat/1's neighbour; it is not this namespace's.
        #expect(!hits.map(\.record.key).contains("chat/2"))
        #expect(try await store.search("password hunter", in: main, limit: 10).isEmpty)
        #expect(try await store.search("adopted", in: try Namespace("empty"), limit: 10).isEmpty)
        #expect(try await store.search("weather", in: other, limit: 10).isEmpty)
    }

    /// An expired record is never a hit, not even when a live neighbour matches.
    @Test(arguments: StoreKind.allCases)
    func expiredRecordsAreNeverReturned(kind: StoreKind) async throws {
        let clock = ManualClock()
        let store = try kind.make(clock: clock)
        try await store.put("turn/1", value: "We went hiking in the mountains", in: main)
        try await store.put("turn/2", value: "It was beautiful up there", in: main, options: PutOptions(ttl: .seconds(5)))
        try await store.put("turn/3", value: "hiking boots are expensive", in: main, options: PutOptions(ttl: .seconds(5)))
        // turn/2 holds no query word: it is found through its neighbours.
        #expect(Set(try await store.search("hiking", in: main, limit: 10).map(\.record.key)) == ["turn/1", "turn/2", "turn/3"])
        clock.advance(seconds: 6)
        #expect(try await store.search("hiking", in: main, limit: 10).map(\.record.key) == ["turn/1"])
        #expect(try await store.search("boots expensive", in: main, limit: 10).isEmpty)
    }

    /// Overwritten text and deleted records match no more; the new text does.
    @Test(arguments: StoreKind.allCases)
    func overwrittenAndDeletedTextNoLongerMatches(kind: StoreKind) async throws {
        let store = try kind.make()
        try await store.put("note", value: "the meeting is on tuesday", in: main)
        try await store.put("gone", value: "tuesday lunch with the client", in: main)
        try await store.put("note", value: "the meeting moved to friday", in: main)
        try await store.delete("gone", in: main)
        #expect(try await store.search("tuesday", in: main, limit: 10).isEmpty)
        #expect(try await store.search("lunch client", in: main, limit: 10).isEmpty)
        #expect(try await store.search("friday", in: main, limit: 10).map(\.record.key) == ["note"])
        try await store.batch([.put(key: "gone", value: "back again on monday")], in: main)
        #expect(try await store.search("monday", in: main, limit: 10).map(\.record.key) == ["gone"])
    }

    /// FTS5 operators, column filters and SQL fragments in a query are plain words.
    @Test(arguments: StoreKind.allCases)
    func querySyntaxIsTakenLiterally(kind: StoreKind) async throws {
        let store = try kind.make()
        try await store.put("a", value: "alpha beta", in: main)
        try await store.put("b", value: "gamma delta", in: main)
        try await store.put("c", value: "the NEAR operator and key words", in: main)
        let queries = [
            "alpha AND gamma", "key:alpha", "alpha*", "\"alpha", "NEAR(alpha gamma)", "-alpha", "^alpha", "{key}: beta",
            "'); DROP TABLE memory_records; --", "alpha' OR '1'='1", "\"\" OR \"\"", "body:gamma",
        ]
        for query in queries {
            let keys = try await store.search(query, in: main, limit: 10).map(\.record.key)
            #expect(Set(keys).isSubset(of: ["a", "b", "c"]), "\(query)")
        }
        #expect(try await store.search("alpha AND gamma", in: main, limit: 10).count == 2)
        #expect(try await store.search("'); DROP TABLE memory_records; --", in: main, limit: 10).isEmpty)
        #expect(try await store.get("a", in: main)?.value == "alpha beta")
        #expect(try await store.search("near", in: main, limit: 10).map(\.record.key) == ["c"])
    }
}
