import AgentMemoryJSON
import AgentMemoryCore
import AgentMemorySQLite
import Foundation
import Testing

/// The full-text index follows every committed write: new text is found at once, text that was
/// overwritten or deleted is not found any more, and writes that failed leave no trace. On
/// SQLite the index is brought up to date once per transaction, at commit; these tests pin that
/// it is exact whatever a transaction mixes.
@Suite("Search index upkeep", .dropsPostgresSchemas)
struct SearchIndexUpkeepTests {
    private func keys(_ store: any MemoryStore, _ query: String, in namespace: Namespace = main) async throws -> [String] {
        try await store.search(query, in: namespace, limit: 50).map(\.record.key).sorted()
    }

    @Test(arguments: StoreKind.allCases)
    func everyCommittedWriteIsSearchableAtOnce(kind: StoreKind) async throws {
        let store = try kind.make()
        try await store.put("a", value: "walrus lagoon", in: main)
        #expect(try await keys(store, "walrus") == ["a"])
        try await store.batch((0..<300).map { .put(key: MemoryKey(checked: "batch/\($0)"), value: .string("pelican number\($0)")) }, in: main)
        #expect(try await store.search("pelican", in: main, limit: 1_000).count == 300)
        // Neighbouring numbered keys may follow as context (ContextRanking); the word itself is in one record only.
        let hits = try await store.search("number177", in: main, limit: 50)
        #expect(hits.first?.record.key == "batch/177")
        #expect(hits.filter { $0.record.value.stringValue?.contains("number177") == true }.map(\.record.key) == ["batch/177"])
        try await store.append("a", value: "narwhal", in: main, options: AppendOptions(separator: " "))
        #expect(try await keys(store, "narwhal") == ["a"])
        #expect(try await keys(store, "walrus") == ["a"])
    }

    @Test(arguments: StoreKind.allCases)
    func overwrittenAndDeletedTextNoLongerMatches(kind: StoreKind) async throws {
        let store = try kind.make()
        try await store.put("pet", value: "ocelot", in: main)
        try await store.put("other", value: "ocelot too", in: main)
        try await store.put("pet", value: "capybara", in: main)
        #expect(try await keys(store, "ocelot") == ["other"])
        #expect(try await keys(store, "capybara") == ["pet"])
        #expect(try await store.delete("other", in: main))
        #expect(try await keys(store, "ocelot").isEmpty)
        // A value that is not a string is indexed as its JSON text, and removed the same way.
        try await store.put("pet", value: ["kind": "axolotl"], in: main)
        #expect(try await keys(store, "axolotl") == ["pet"])
        #expect(try await keys(store, "capybara").isEmpty)
        try await store.put("pet", value: "plain again", in: main)
        #expect(try await keys(store, "axolotl").isEmpty)
        #expect(try await keys(store, "plain") == ["pet"])
    }

    @Test(arguments: StoreKind.allCases)
    func oneBatchThatWritesAKeySeveralTimesKeepsOnlyTheLastText(kind: StoreKind) async throws {
        let store = try kind.make()
        try await store.put("k", value: "heron", in: main)
        try await store.put("gone", value: "heron flock", in: main)
        try await store.batch([
            .put(key: "k", value: "egret"),
            .put(key: "k", value: "ibis"),
            .delete(key: "gone"),
            .put(key: "new", value: "stork"),
            .put(key: "new", value: "crane"),
            .delete(key: "new"),
            .put(key: "new", value: "spoonbill"),
            .put(key: "gone", value: "flamingo"),
        ], in: main)
        for word in ["heron", "egret", "stork", "crane", "flock"] {
            #expect(try await keys(store, word).isEmpty, "\(word)")
        }
        #expect(try await keys(store, "ibis") == ["k"])
        #expect(try await keys(store, "spoonbill") == ["new"])
        #expect(try await keys(store, "flamingo") == ["gone"])
    }

    @Test(arguments: StoreKind.allCases)
    func aFailedBatchLeavesTheIndexAsItWas(kind: StoreKind) async throws {
        let store = try kind.make()
        try await store.put("k", value: "badger", in: main)
        await #expect(throws: MemoryError.self) {
            try await store.batch([
                .put(key: "k", value: "wolverine"),
                .put(key: "fresh", value: "wolverine den"),
                .put(key: "k", value: "never", options: PutOptions(ifVersion: 7)),
            ], in: main)
        }
        #expect(try await keys(store, "badger") == ["k"])
        #expect(try await keys(store, "wolverine").isEmpty)
        try await store.put("k", value: "marten", in: main)
        #expect(try await keys(store, "badger").isEmpty)
        #expect(try await keys(store, "marten") == ["k"])
    }

    /// Concurrent writers share transactions on SQLite (group commit); the ones that fail
    /// must not leave text behind, and the others' text must all be there.
    @Test(arguments: StoreKind.allCases)
    func concurrentWritesThatFailLeaveNoText(kind: StoreKind) async throws {
        let store = try kind.make()
        for index in 0..<16 { try await store.put("shared/\(index)", value: "quokka", in: main) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<48 {
                group.addTask {
                    switch index % 3 {
                    case 0:
                        try await store.put("shared/\(index % 16)", value: .string("wombat \(index)"), in: main)
                    case 1:
                        _ = try? await store.put("fail/\(index)", value: "dingo", in: main, options: PutOptions(ifVersion: 3))
                    default:
                        try await store.put("own/\(index)", value: "bilby", in: main)
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(try await keys(store, "dingo").isEmpty)
        #expect(try await store.search("bilby", in: main, limit: 100).count == 16)
        let wombats = try await store.search("wombat", in: main, limit: 100).map(\.record.key)
        let quokkas = try await store.search("quokka", in: main, limit: 100).map(\.record.key)
        #expect(Set(wombats).isDisjoint(with: quokkas))
        #expect(wombats.count + quokkas.count == 16)
    }

    @Test(arguments: StoreKind.allCases)
    func purgedRecordsLeaveTheIndex(kind: StoreKind) async throws {
        let clock = ManualClock()
        let store = try kind.make(clock: clock)
        try await store.put("brief", value: "mayfly", in: main, options: PutOptions(ttl: .seconds(1)))
        try await store.put("stays", value: "tortoise", in: main)
        clock.advance(seconds: 2)
        #expect(try await keys(store, "mayfly").isEmpty)
        if let sqlite = store as? SQLiteMemoryStore { #expect(try await sqlite.purgeExpired() == 1) }
        // The key comes back with other text: the old text must not come back with it.
        try await store.put("brief", value: "cicada", in: main)
        #expect(try await keys(store, "mayfly").isEmpty)
        #expect(try await keys(store, "cicada") == ["brief"])
        #expect(try await keys(store, "tortoise") == ["stays"])
    }

    @Test(arguments: StoreKind.allCases)
    func namespacesKeepTheirOwnText(kind: StoreKind) async throws {
        let store = try kind.make()
        try await store.put("k", value: "lynx", in: main)
        try await store.put("k", value: "lynx", in: other)
        try await store.put("k", value: "caracal", in: main)
        #expect(try await keys(store, "lynx", in: other) == ["k"])
        #expect(try await keys(store, "lynx", in: main).isEmpty)
    }
}

