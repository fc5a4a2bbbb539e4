import AgentMemoryCore
import AgentMemoryJSON
import Foundation

extension StoreConformance {
    /// Many records: listing and cursors, namespaces, limits and quotas, batches, search.
    static let collectionChecks: [Check] = [
        Check(name: "listPaging", promise: "list is in UTF-8 byte order and its pages, with or without a prefix, visit every key once.") { t in
            let store = try await t.store()
            var expected = (0..<137).map { "item-\($0)" }
            expected += ["B", "a", "Z", "é", "ab", "a b", "~", "日本"]
            try await store.batch(expected.map { .put(key: try MemoryKey($0), value: .string($0)) }, in: t.main)
            try await store.put("x", value: 1, in: t.other)
            let sorted = expected.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            for pageSize in [1, 7, 100, 1000] {
                let seen = try await t.pages(of: store, prefix: nil, size: pageSize)
                try t.equal(seen, sorted, "keys listed in pages of \(pageSize)")
            }
            let prefixed = sorted.filter { $0.hasPrefix("item-1") }
            try t.equal(try await t.pages(of: store, prefix: "item-1", size: 5), prefixed, "keys under a prefix, pages of 5")
            try t.equal(prefixed.count, 48, "keys under item-1")
            try t.equal(try await store.list(in: t.main, prefix: "a", limit: 10).records.map(\.key), ["a", "a b", "ab"], "prefix a")
            try t.equal(try await store.list(in: t.main, prefix: "nothing", limit: 10), MemoryPage(records: [], nextCursor: nil), "no match")
            let exact = try await store.list(in: t.main, prefix: "item-10", limit: 11)
            try t.equal(exact.records.count, 11, "a page that holds exactly the rest")
            try t.equal(exact.nextCursor, nil, "no cursor after the last page")
        },
        Check(name: "badCursorsAndLimits", promise: "A forged cursor or a limit below 1 is an invalidArgument error.") { t in
            let store = try await t.store()
            try await store.put("a", value: 1, in: t.main)
            let cursor = try await t.error(.invalidArgument, "a forged cursor") {
                _ = try await store.list(in: t.main, prefix: nil, cursor: "not-a-cursor!", limit: 10)
            }
            try t.expect(cursor.message.contains("Invalid cursor"), "the message says the cursor is invalid, got \(cursor.message)")
            let limit = try await t.error(.invalidArgument, "limit 0") {
                _ = try await store.list(in: t.main, prefix: nil, cursor: nil, limit: 0)
            }
            try t.equal(limit.message, "limit must be at least 1, got 0", "the limit message")
        },
        Check(name: "namespaceIsolation", promise: "No read, list, search or delete in one namespace sees or touches another.") { t in
            let store = try await t.store()
            try await store.put("shared-key", value: "main value about rockets", in: t.main)
            try await store.put("shared-key", value: "other value about rockets", in: t.other)
            try await store.put("only-other", value: 1, in: t.other)
            try t.equal(try await store.get("shared-key", in: t.main)?.value, "main value about rockets", "the same key in main")
            try t.equal(try await store.get("only-other", in: t.main), nil, "another namespace's key")
            try t.equal(try await store.list(in: t.main).records.map(\.key), ["shared-key"], "list of main")
            try t.equal(try await store.search("rockets", in: t.main, limit: 10).map(\.record.value), ["main value about rockets"], "search in main")
            try await store.delete("shared-key", in: t.main)
            try t.equal(try await store.get("shared-key", in: t.other)?.value, "other value about rockets", "other's key after main's delete")
            try t.equal(try await store.namespaces(), [NamespaceSummary(namespace: t.other, recordCount: 2)], "namespaces")
        },
        Check(name: "limitsBeforeWrites", promise: "Value size and key limits are checked before anything is written.") { t in
            let store = try await t.store(limits: MemoryLimits(maxValueBytes: 20, maxKeyBytes: 8))
            let big = try await t.error(.valueTooLarge, "a 24-byte value over a 20-byte limit") {
                try await store.put("k", value: "0123456789012345678901", in: t.main)
            }
            try t.equal(big.message, "Value for key \"k\" is 24 bytes of JSON, the limit is 20 bytes", "the message")
            let longKey = try await t.error(.invalidKey, "a 9-byte key over an 8-byte limit") {
                try await store.put("123456789", value: 1, in: t.main)
            }
            try t.equal(longKey.message, "Invalid key: the key is 9 UTF-8 bytes, the limit is 8", "the message")
            try t.equal(try await store.list(in: t.main).records, [], "nothing written")
            try t.equal(try await store.namespaces(), [], "no namespace created")
        },
        Check(name: "quotas", promise: "Per-namespace key and byte quotas count live records only, and each namespace has its own.") { t in
            let clock = ManualClock()
            let store = try await t.store(limits: MemoryLimits(maxKeysPerNamespace: 3, maxBytesPerNamespace: 60), clock: clock)
            try await store.put("a", value: "1", in: t.main)
            try await store.put("b", value: "2", in: t.main, options: PutOptions(ttl: .seconds(5)))
            try await store.put("c", value: "3", in: t.main)
            let tooMany = try await t.error(.quotaExceeded, "a fourth key over a quota of 3") {
                try await store.put("d", value: "4", in: t.main)
            }
            try t.equal(tooMany.message, "Namespace \"\(t.main.name)\" would hold 4 keys, the limit is 3 keys", "the message")
            try await store.put("a", value: "one", in: t.main)
            try await store.put("d", value: "4", in: t.other)
            clock.advance(seconds: 6)
            try await store.put("d", value: "4", in: t.main)
            try await t.error(.quotaExceeded, "a value over the byte quota") {
                try await store.put("e", value: .string(String(repeating: "x", count: 50)), in: t.main)
            }
            try t.equal(try await store.list(in: t.main).records.map(\.key), ["a", "c", "d"], "keys after the refusals")
        },
        Check(name: "batches", promise: "A batch is all or nothing, logs nothing when refused, and sees its own earlier writes.") { t in
            let store = try await t.store()
            try await store.put("existing", value: "old", in: t.main)
            let results = try await store.batch([
                .put(key: "a", value: 1),
                .put(key: "existing", value: "new", options: PutOptions(ifVersion: 1)),
                .delete(key: "missing"),
            ], in: t.main)
            try t.equal(results.count, 3, "one result per operation")
            if case .put(let record) = results[1] { try t.equal(record.version, 2, "the update's version") } else {
                try t.expect(false, "the second result is a put, got \(results[1])")
            }
            try t.equal(results[2], .delete(false), "deleting a missing key")
            let logBefore = try await store.changes(in: t.main, since: 0, limit: 100)
            try await t.error(.versionConflict, "a batch whose third operation conflicts") {
                try await store.batch([
                    .put(key: "b", value: 2),
                    .delete(key: "a"),
                    .put(key: "existing", value: "lost", options: PutOptions(ifVersion: 1)),
                ], in: t.main)
            }
            try t.equal(try await store.get("b", in: t.main), nil, "the refused batch's put")
            try t.equal(try await store.get("a", in: t.main)?.value, 1, "the refused batch's delete")
            try t.equal(try await store.get("existing", in: t.main)?.value, "new", "the conflicting key")
            try t.equal(try await store.changes(in: t.main, since: 0, limit: 100), logBefore, "the change log after a refused batch")
            try t.equal(try await store.search("lost", in: t.main, limit: 5), [], "search for the refused value")
            let chained = try await store.batch([
                .put(key: "c", value: 1, options: PutOptions(ifVersion: 0)),
                .put(key: "c", value: 2, options: PutOptions(ifVersion: 1)),
            ], in: t.main)
            if case .put(let record) = chained[1] { try t.equal(record.version, 2, "a put after a put of the same key") } else {
                try t.expect(false, "the second result is a put, got \(chained[1])")
            }
        },
        Check(name: "search", promise: "search finds words in keys and values, ranks better matches first, and follows updates and deletes.") { t in
            let store = try await t.store()
            try await store.put("user.preferences", value: "The user prefers dark mode and concise answers", in: t.main)
            try await store.put("project.stack", value: "Swift server on Linux with PostgreSQL", in: t.main)
            try await store.put("notes", value: ["topic": "dark chocolate recipes"], in: t.main)
            try await store.put("unrelated", value: "nothing to see", in: t.main)
            let hits = try await store.search("dark mode", in: t.main, limit: 10)
            try t.equal(hits.map(\.record.key), ["user.preferences", "notes"], "hits for 'dark mode'")
            try t.expect(hits[0].score > hits[1].score, "the better match scores higher")
            try t.expect(hits[0].snippet.contains("[dark]") && hits[0].snippet.contains("[mode]"), "snippet marks the words: \(hits[0].snippet)")
            try t.equal(try await store.search("postgresql", in: t.main, limit: 10).map(\.record.key), ["project.stack"], "case-insensitive")
            try t.equal(try await store.search("preferences", in: t.main, limit: 10).first?.record.key, "user.preferences", "a word of the key")
            try t.equal(try await store.search("zebra", in: t.main, limit: 10), [], "no match")
            try t.equal(try await store.search("  \"*()  ", in: t.main, limit: 10), [], "punctuation only")
            try t.equal(try await store.search("dark", in: t.main, limit: 1).count, 1, "the limit")
            try await store.put("unrelated", value: "now about dark matter", in: t.main)
            try await store.delete("notes", in: t.main)
            let after = Set(try await store.search("dark", in: t.main, limit: 10).map(\.record.key))
            try t.equal(after, ["user.preferences", "unrelated"], "hits after an update and a delete")
        },
        Check(name: "namespaceSummaries", promise: "namespaces() lists namespaces with live records, by name, with their counts.") { t in
            let store = try await t.store()
            try await store.put("a", value: 1, in: t.other)
            try await store.put("a", value: 1, in: t.main)
            try await store.put("b", value: 1, in: t.main)
            let emptied = try Namespace("conformance-zeta")
            try await store.put("a", value: 1, in: emptied)
            try await store.delete("a", in: emptied)
            try t.equal(try await store.namespaces(), [
                NamespaceSummary(namespace: t.main, recordCount: 2), NamespaceSummary(namespace: t.other, recordCount: 1),
            ], "namespaces")
        },
    ]
}

extension Harness {
    /// Every key of `main` under `prefix`, read page by page.
    func pages(of store: any MemoryStore, prefix: String?, size: Int) async throws -> [String] {
        var seen: [String] = []
        var cursor: String?
        repeat {
            let page = try await store.list(in: main, prefix: prefix, cursor: cursor, limit: size)
            try expect(page.records.count <= size, "a page of \(page.records.count) records over the limit \(size)")
            seen += page.records.map(\.key)
            cursor = page.nextCursor
        } while cursor != nil
        return seen
    }
}
