import AgentMemoryJSON
import AgentMemoryCore
import Foundation
import Testing

/// The contract every `MemoryStore` keeps. Each test runs against every backend.
@Suite("Store conformance", .dropsPostgresSchemas)
struct StoreConformanceTests {
    @Test(arguments: StoreKind.allCases)
    func putThenGetReturnsTheRecord(kind: StoreKind) async throws {
        let clock = ManualClock()
        let store = try kind.make(clock: clock)
        let stored = try await store.put("user.name", value: "Ada", in: main, options: PutOptions(author: "agent-1"))
        #expect(stored.version == 1)
        #expect(stored.author == "agent-1")
        #expect(stored.createdAt == stored.updatedAt)
        let fetched = try #require(try await store.get("user.name", in: main))
        #expect(fetched.value == "Ada")
        #expect(fetched.version == 1)
        #expect(fetched.author == "agent-1")
        #expect(fetched.expiresAt == nil)
        #expect(abs(fetched.createdAt.timeIntervalSince(clock.now)) < 0.001)
        #expect(try await store.get("missing", in: main) == nil)
    }

    @Test(arguments: StoreKind.allCases)
    func everyJSONTypeRoundTrips(kind: StoreKind) async throws {
        let store = try kind.make()
        let values: [JSONValue] = [
            .null, true, false, 0, -42, 9_007_199_254_740_993, 1.5, 1.0, -0.25, "", "plain", "line\nbreak \"quoted\" \\ tab\t",
            "emoji 🧠 and 日本語", [1, "two", [3.0], ["four": 4]], ["b": 1, "a": ["nested": [true, nil]]],
            "{\"looks\": \"like json\"}", "123", "true", "null",
        ]
        for (index, value) in values.enumerated() {
            try await store.put("k\(index)", value: value, in: main)
        }
        for (index, value) in values.enumerated() {
            let fetched = try #require(try await store.get("k\(index)", in: main))
            #expect(fetched.value == value, "value \(index)")
            #expect(fetched.value.jsonString() == value.jsonString(), "value \(index) keeps its exact JSON (types, key order)")
        }
    }

    @Test(arguments: StoreKind.allCases)
    func updatesBumpTheVersionAndKeepCreatedAt(kind: StoreKind) async throws {
        let clock = ManualClock()
        let store = try kind.make(clock: clock)
        let first = try await store.put("k", value: 1, in: main, options: PutOptions(author: "a"))
        clock.advance(seconds: 5)
        let second = try await store.put("k", value: 2, in: main, options: PutOptions(author: "b"))
        #expect(second.version == 2)
        #expect(second.author == "b")
        let fetched = try #require(try await store.get("k", in: main))
        #expect(fetched.version == 2)
        #expect(fetched.value == 2)
        #expect(abs(fetched.createdAt.timeIntervalSince(first.createdAt)) < 0.001)
        #expect(abs(fetched.updatedAt.timeIntervalSince(first.createdAt) - 5) < 0.001)
    }

    @Test(arguments: StoreKind.allCases)
    func compareAndSetConflictsCarryTheCurrentVersion(kind: StoreKind) async throws {
        let store = try kind.make()
        try await store.put("k", value: "v1", in: main, options: PutOptions(ifVersion: 0, author: "writer"))
        // 0 means "must not exist".
        let exists = await #expect(throws: MemoryError.self) {
            try await store.put("k", value: "again", in: main, options: PutOptions(ifVersion: 0))
        }
        #expect(exists?.code == .versionConflict)
        #expect(exists?.currentVersion == 1)
        #expect(exists?.currentAuthor == "writer")
        // A stale version is refused and changes nothing.
        try await store.put("k", value: "v2", in: main, options: PutOptions(ifVersion: 1))
        let stale = await #expect(throws: MemoryError.self) {
            try await store.put("k", value: "lost", in: main, options: PutOptions(ifVersion: 1))
        }
        #expect(stale?.currentVersion == 2)
        #expect(stale?.message == "Version conflict on key \"k\": expected version 1, but it is at version 2")
        #expect(try await store.get("k", in: main)?.value == "v2")
        // A version on a missing key conflicts with 0.
        let missing = await #expect(throws: MemoryError.self) {
            try await store.put("nope", value: 1, in: main, options: PutOptions(ifVersion: 3))
        }
        #expect(missing?.currentVersion == 0)
        #expect(try await store.get("nope", in: main) == nil)
        // Conditional delete.
        let deleteConflict = await #expect(throws: MemoryError.self) {
            try await store.delete("k", in: main, ifVersion: 1)
        }
        #expect(deleteConflict?.currentVersion == 2)
        #expect(try await store.delete("k", in: main, ifVersion: 2))
        #expect(try await store.get("k", in: main) == nil)
        #expect(try await store.delete("k", in: main) == false)
    }

    @Test(arguments: StoreKind.allCases)
    func concurrentCompareAndSetIncrementsLoseNothing(kind: StoreKind) async throws {
        let store = try kind.make()
        try await store.put("counter", value: 0, in: main)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    for _ in 0..<25 {
                        while true {
                            let current = try #require(try await store.get("counter", in: main))
                            do {
                                try await store.put(
                                    "counter", value: .int(current.value.intValue! + 1), in: main,
                                    options: PutOptions(ifVersion: current.version))
                                break
                            } catch let error as MemoryError where error.code == .versionConflict {
                                continue
                            }
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        let final = try #require(try await store.get("counter", in: main))
        #expect(final.value == 200)
        #expect(final.version == 201)
    }

    @Test(arguments: StoreKind.allCases)
    func expiredRecordsAreInvisibleAtOnce(kind: StoreKind) async throws {
        let clock = ManualClock()
        let store = try kind.make(clock: clock)
        let stored = try await store.put("session", value: "token alpha", in: main, options: PutOptions(ttl: .seconds(10)))
        #expect(stored.expiresAt.map { abs($0.timeIntervalSince(clock.now) - 10) < 0.001 } == true)
        try await store.put("keep", value: "forever alpha", in: main)
        clock.advance(seconds: 9.9)
        #expect(try await store.get("session", in: main)?.value == "token alpha")
        clock.advance(seconds: 0.1)
        #expect(try await store.get("session", in: main) == nil)
        #expect(try await store.list(in: main).records.map(\.key) == ["keep"])
        #expect(try await store.search("alpha", in: main, limit: 10).map(\.record.key) == ["keep"])
        #expect(try await store.namespaces() == [NamespaceSummary(namespace: main, recordCount: 1)])
        // An expired key no longer exists: "must not exist" succeeds and starts again at version 1.
        let recreated = try await store.put("session", value: "new", in: main, options: PutOptions(ifVersion: 0))
        #expect(recreated.version == 1)
        #expect(recreated.expiresAt == nil)
    }

    @Test(arguments: StoreKind.allCases)
    func keysCompareByteForByte(kind: StoreKind) async throws {
        let store = try kind.make()
        let composed = "caf\u{E9}"  // NFC
        let decomposed = "cafe\u{301}"  // NFD: equal as Swift Strings, different bytes
        #expect(composed == decomposed)
        try await store.put(composed, value: "composed", in: main)
        try await store.put(decomposed, value: "decomposed", in: main)
        #expect(try await store.get(composed, in: main)?.value == "composed")
        #expect(try await store.get(decomposed, in: main)?.value == "decomposed")
        let keys = try await store.list(in: main).records.map(\.key)
        #expect(keys.count == 2)
        #expect(keys.map { Array($0.utf8) } == [Array(decomposed.utf8), Array(composed.utf8)])
        #expect(try await store.delete(decomposed, in: main))
        #expect(try await store.get(composed, in: main)?.value == "composed")
        #expect(try await store.get(decomposed, in: main) == nil)
    }

    @Test(arguments: StoreKind.allCases)
    func listIsInByteOrderAndPagesVisitEveryKeyOnce(kind: StoreKind) async throws {
        let store = try kind.make()
        var expected: [String] = []
        for index in 0..<137 {
            expected.append("item-\(index)")
        }
        expected += ["B", "a", "Z", "é", "ab", "a b", "~", "日本"]
        try await store.batch(expected.map { .put(key: try MemoryKey($0), value: .string($0)) }, in: main)
        try await store.put("x", value: 1, in: other)
        let sorted = expected.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        for pageSize in [1, 7, 100, 1000] {
            var seen: [String] = []
            var cursor: String?
            repeat {
                let page = try await store.list(in: main, prefix: nil, cursor: cursor, limit: pageSize)
                #expect(page.records.count <= pageSize)
                seen += page.records.map(\.key)
                cursor = page.nextCursor
            } while cursor != nil
            #expect(seen == sorted, "page size \(pageSize)")
        }
        let prefixed = try await store.allRecords(in: main, prefix: "item-1").map(\.key)
        #expect(prefixed == sorted.filter { $0.hasPrefix("item-1") })
        #expect(prefixed.count == 48)
        var prefixedPages: [String] = []
        var cursor: String?
        repeat {
            let page = try await store.list(in: main, prefix: "item-1", cursor: cursor, limit: 5)
            prefixedPages += page.records.map(\.key)
            cursor = page.nextCursor
        } while cursor != nil
        #expect(prefixedPages == prefixed)
        #expect(try await store.list(in: main, prefix: "a", limit: 10).records.map(\.key) == ["a", "a b", "ab"])
        #expect(try await store.list(in: main, prefix: "nothing", limit: 10) == MemoryPage(records: [], nextCursor: nil))
        // An exact page boundary ends without a dangling cursor.
        let exact = try await store.list(in: main, prefix: "item-10", limit: 11)
        #expect(exact.records.count == 11)
        #expect(exact.nextCursor == nil)
    }

    @Test(arguments: StoreKind.allCases)
    func badCursorsAndLimitsAreClearErrors(kind: StoreKind) async throws {
        let store = try kind.make()
        try await store.put("a", value: 1, in: main)
        let cursor = await #expect(throws: MemoryError.self) {
            try await store.list(in: main, prefix: nil, cursor: "not-a-cursor!", limit: 10)
        }
        #expect(cursor?.code == .invalidArgument)
        #expect(cursor?.message.contains("Invalid cursor") == true)
        let limit = await #expect(throws: MemoryError.self) {
            try await store.list(in: main, prefix: nil, cursor: nil, limit: 0)
        }
        #expect(limit?.message == "limit must be at least 1, got 0")
    }

    @Test(arguments: StoreKind.allCases)
    func namespacesNeverLeakIntoEachOther(kind: StoreKind) async throws {
        let store = try kind.make()
        try await store.put("shared-key", value: "main value about rockets", in: main)
        try await store.put("shared-key", value: "other value about rockets", in: other)
        try await store.put("only-other", value: 1, in: other)
        #expect(try await store.get("shared-key", in: main)?.value == "main value about rockets")
        #expect(try await store.get("only-other", in: main) == nil)
        #expect(try await store.list(in: main).records.map(\.key) == ["shared-key"])
        let hits = try await store.search("rockets", in: main, limit: 10)
        #expect(hits.map(\.record.value) == ["main value about rockets"])
        try await store.delete("shared-key", in: main)
        #expect(try await store.get("shared-key", in: other)?.value == "other value about rockets")
        #expect(try await store.namespaces() == [NamespaceSummary(namespace: other, recordCount: 2)])
    }

    @Test(arguments: StoreKind.allCases)
    func limitsAreEnforcedBeforeWriting(kind: StoreKind) async throws {
        let store = try kind.make(limits: MemoryLimits(maxValueBytes: 20, maxKeyBytes: 8))
        let big = await #expect(throws: MemoryError.self) {
            try await store.put("k", value: "0123456789012345678901", in: main)
        }
        #expect(big?.code == .valueTooLarge)
        #expect(big?.message == "Value for key \"k\" is 24 bytes of JSON, the limit is 20 bytes")
        let longKey = await #expect(throws: MemoryError.self) {
            try await store.put("123456789", value: 1, in: main)
        }
        #expect(longKey?.code == .invalidKey)
        #expect(longKey?.message == "Invalid key: the key is 9 UTF-8 bytes, the limit is 8")
        let empty = await #expect(throws: MemoryError.self) { try await store.put("", value: 1, in: main) }
        #expect(empty?.code == .invalidKey)
        let control = await #expect(throws: MemoryError.self) { try await store.put("a\nb", value: 1, in: main) }
        #expect(control?.message == "Invalid key: keys must not contain control characters (found U+000A)")
        #expect(try await store.list(in: main).records.isEmpty)
        #expect(try await store.namespaces().isEmpty)
    }

    @Test(arguments: StoreKind.allCases)
    func namespaceQuotasCountKeysAndBytes(kind: StoreKind) async throws {
        let clock = ManualClock()
        let store = try kind.make(limits: MemoryLimits(maxKeysPerNamespace: 3, maxBytesPerNamespace: 40), clock: clock)
        try await store.put("a", value: "1", in: main)  // 1 + 3 bytes
        try await store.put("b", value: "2", in: main, options: PutOptions(ttl: .seconds(5)))
        try await store.put("c", value: "3", in: main)
        let tooMany = await #expect(throws: MemoryError.self) { try await store.put("d", value: "4", in: main) }
        #expect(tooMany?.code == .quotaExceeded)
        #expect(tooMany?.message == "Namespace \"main\" would hold 4 keys, the limit is 3 keys")
        // Replacing an existing key does not add a key.
        try await store.put("a", value: "one", in: main)
        // Another namespace has its own quota.
        try await store.put("d", value: "4", in: other)
        // Expired records make room.
        clock.advance(seconds: 6)
        try await store.put("d", value: "4", in: main)
        let tooBig = await #expect(throws: MemoryError.self) {
            try await store.put("e", value: .string(String(repeating: "x", count: 30)), in: main)
        }
        #expect(tooBig?.message.hasPrefix("Namespace \"main\" would hold") == true)
        #expect(try await store.list(in: main).records.map(\.key) == ["a", "c", "d"])
    }

    @Test(arguments: StoreKind.allCases)
    func batchesAreAllOrNothing(kind: StoreKind) async throws {
        let store = try kind.make()
        try await store.put("existing", value: "old", in: main)
        let results = try await store.batch([
            .put(key: "a", value: 1),
            .put(key: "existing", value: "new", options: PutOptions(ifVersion: 1)),
            .delete(key: "missing"),
        ], in: main)
        #expect(results.count == 3)
        if case .put(let record) = results[1] { #expect(record.version == 2) } else { Issue.record("expected a put result") }
        #expect(results[2] == .delete(false))
        let logBefore = try await store.changes(in: main, since: 0, limit: 100)
        let failure = await #expect(throws: MemoryError.self) {
            try await store.batch([
                .put(key: "b", value: 2),
                .delete(key: "a"),
                .put(key: "existing", value: "lost", options: PutOptions(ifVersion: 1)),
            ], in: main)
        }
        #expect(failure?.code == .versionConflict)
        #expect(try await store.get("b", in: main) == nil)
        #expect(try await store.get("a", in: main)?.value == 1)
        #expect(try await store.get("existing", in: main)?.value == "new")
        #expect(try await store.changes(in: main, since: 0, limit: 100) == logBefore, "a failed batch logs nothing")
        #expect(try await store.search("lost", in: main, limit: 5).isEmpty)
        // Later operations see earlier ones in the same batch.
        let chained = try await store.batch([
            .put(key: "c", value: 1, options: PutOptions(ifVersion: 0)),
            .put(key: "c", value: 2, options: PutOptions(ifVersion: 1)),
        ], in: main)
        if case .put(let record) = chained[1] { #expect(record.version == 2) } else { Issue.record("expected a put result") }
    }

    @Test(arguments: StoreKind.allCases)
    func searchRanksMatchesAndGivesSnippets(kind: StoreKind) async throws {
        let store = try kind.make()
        try await store.put("user.preferences", value: "The user prefers dark mode and concise answers", in: main)
        try await store.put("project.stack", value: "Swift server on Linux with PostgreSQL", in: main)
        try await store.put("notes", value: ["topic": "dark chocolate recipes"], in: main)
        try await store.put("unrelated", value: "nothing to see", in: main)
        let hits = try await store.search("dark mode", in: main, limit: 10)
        #expect(hits.map(\.record.key) == ["user.preferences", "notes"])
        #expect(hits[0].score > hits[1].score)
        #expect(hits[0].snippet.contains("[dark]"))
        #expect(hits[0].snippet.contains("[mode]"))
        #expect(try await store.search("postgresql", in: main, limit: 10).map(\.record.key) == ["project.stack"])
        #expect(try await store.search("preferences", in: main, limit: 10).first?.record.key == "user.preferences")
        #expect(try await store.search("zebra", in: main, limit: 10).isEmpty)
        #expect(try await store.search("  \"*()  ", in: main, limit: 10).isEmpty)
        #expect(try await store.search("dark", in: main, limit: 1).count == 1)
        // Updates and deletes keep the index in sync.
        try await store.put("unrelated", value: "now about dark matter", in: main)
        try await store.delete("notes", in: main)
        #expect(Set(try await store.search("dark", in: main, limit: 10).map(\.record.key)) == ["user.preferences", "unrelated"])
    }

    @Test(arguments: StoreKind.allCases)
    func namespacesListCountsByName(kind: StoreKind) async throws {
        let store = try kind.make()
        try await store.put("a", value: 1, in: other)
        try await store.put("a", value: 1, in: main)
        try await store.put("b", value: 1, in: main)
        let zeta = try Namespace("zeta:team-1")
        try await store.put("a", value: 1, in: zeta)
        try await store.delete("a", in: zeta)
        #expect(try await store.namespaces() == [
            NamespaceSummary(namespace: main, recordCount: 2), NamespaceSummary(namespace: other, recordCount: 1),
        ])
    }

    @Test(arguments: StoreKind.allCases)
    func invalidArgumentsAreRejected(kind: StoreKind) async throws {
        let store = try kind.make()
        let negative = await #expect(throws: MemoryError.self) {
            try await store.put("k", value: 1, in: main, options: PutOptions(ifVersion: -1))
        }
        #expect(negative?.code == .invalidArgument)
        let ttl = await #expect(throws: MemoryError.self) {
            try await store.put("k", value: 1, in: main, options: PutOptions(ttl: .seconds(0)))
        }
        #expect(ttl?.code == .invalidArgument)
        #expect(try await store.get("k", in: main) == nil)
    }
}
