import AgentMemoryCore
import AgentMemoryJSON
import Foundation

extension StoreConformance {
    /// Single records: what a put stores, versions, compare-and-set, expiry, key bytes, bad arguments.
    static let recordChecks: [Check] = [
        Check(name: "putThenGet", promise: "A put is read back with its value, version 1, its author and the clock's time.") { t in
            let clock = ManualClock()
            let store = try await t.store(clock: clock)
            let stored = try await store.put("user.name", value: "Ada", in: t.main, options: PutOptions(author: "agent-1"))
            try t.equal(stored.version, 1, "version of a new record")
            try t.equal(stored.author, "agent-1", "author")
            try t.equal(stored.createdAt, stored.updatedAt, "a new record's updatedAt")
            let fetched = try t.require(try await store.get("user.name", in: t.main), "get after put")
            try t.equal(fetched.value, "Ada", "value")
            try t.equal(fetched.version, 1, "version")
            try t.equal(fetched.author, "agent-1", "author")
            try t.equal(fetched.expiresAt, nil, "expiresAt without a ttl")
            try t.expect(abs(fetched.createdAt.timeIntervalSince(clock.now)) < 0.001, "createdAt is the store clock's time")
            try t.equal(try await store.get("missing", in: t.main), nil, "get of a missing key")
        },
        Check(name: "jsonRoundTrip", promise: "Every JSON value comes back with its exact JSON: types, key order, integers vs doubles.") { t in
            let store = try await t.store()
            let values: [JSONValue] = [
                .null, true, false, 0, -42, 9_007_199_254_740_993, 1.5, 1.0, -0.25, "", "plain",
                "line\nbreak \"quoted\" \\ tab\t", "emoji 🧠 and 日本語", [1, "two", [3.0], ["four": 4]],
                ["b": 1, "a": ["nested": [true, nil]]], "{\"looks\": \"like json\"}", "123", "true", "null",
            ]
            for (index, value) in values.enumerated() {
                try await store.put(MemoryKey("k\(index)"), value: value, in: t.main)
            }
            for (index, value) in values.enumerated() {
                let fetched = try t.require(try await store.get(MemoryKey("k\(index)"), in: t.main), "value \(index)")
                try t.equal(fetched.value.jsonString(), value.jsonString(), "JSON of value \(index)")
            }
        },
        Check(name: "updates", promise: "An update bumps the version, keeps createdAt and moves updatedAt to the clock.") { t in
            let clock = ManualClock()
            let store = try await t.store(clock: clock)
            let first = try await store.put("k", value: 1, in: t.main, options: PutOptions(author: "a"))
            clock.advance(seconds: 5)
            let second = try await store.put("k", value: 2, in: t.main, options: PutOptions(author: "b"))
            try t.equal(second.version, 2, "version after an update")
            try t.equal(second.author, "b", "author after an update")
            let fetched = try t.require(try await store.get("k", in: t.main), "get after update")
            try t.equal(fetched.value, 2, "value")
            try t.expect(abs(fetched.createdAt.timeIntervalSince(first.createdAt)) < 0.001, "createdAt is kept")
            try t.expect(abs(fetched.updatedAt.timeIntervalSince(first.createdAt) - 5) < 0.001, "updatedAt moves with the clock")
        },
        Check(name: "compareAndSet", promise: "ifVersion conflicts change nothing and report the current version and author.") { t in
            let store = try await t.store()
            try await store.put("k", value: "v1", in: t.main, options: PutOptions(ifVersion: 0, author: "writer"))
            let exists = try await t.error(.versionConflict, "ifVersion 0 on an existing key") {
                try await store.put("k", value: "again", in: t.main, options: PutOptions(ifVersion: 0))
            }
            try t.equal(exists.currentVersion, 1, "current version in the conflict")
            try t.equal(exists.currentAuthor, "writer", "current author in the conflict")
            try await store.put("k", value: "v2", in: t.main, options: PutOptions(ifVersion: 1))
            let stale = try await t.error(.versionConflict, "a stale ifVersion") {
                try await store.put("k", value: "lost", in: t.main, options: PutOptions(ifVersion: 1))
            }
            try t.equal(stale.currentVersion, 2, "current version in the conflict")
            try t.equal(try await store.get("k", in: t.main)?.value, "v2", "value after a refused put")
            let missing = try await t.error(.versionConflict, "ifVersion on a missing key") {
                try await store.put("nope", value: 1, in: t.main, options: PutOptions(ifVersion: 3))
            }
            try t.equal(missing.currentVersion, 0, "a missing key's current version")
            try t.equal(try await store.get("nope", in: t.main), nil, "a refused put creates nothing")
            let deleteConflict = try await t.error(.versionConflict, "a delete with a stale version") {
                _ = try await store.delete("k", in: t.main, ifVersion: 1)
            }
            try t.equal(deleteConflict.currentVersion, 2, "current version in the delete conflict")
            try t.equal(try await store.delete("k", in: t.main, ifVersion: 2), true, "a delete at the current version")
            try t.equal(try await store.get("k", in: t.main), nil, "get after delete")
            try t.equal(try await store.delete("k", in: t.main), false, "deleting a missing key")
        },
        Check(name: "concurrentCompareAndSet", promise: "8 tasks incrementing one counter by compare-and-set lose no update.") { t in
            let store = try await t.store()
            let main = t.main
            try await store.put("counter", value: 0, in: main)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        for _ in 0..<25 {
                            while true {
                                let current = try t.require(try await store.get("counter", in: main), "the counter")
                                let next = try t.require(current.value.intValue, "the counter's integer") + 1
                                do {
                                    try await store.put("counter", value: .int(next), in: main, options: PutOptions(ifVersion: current.version))
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
            let final = try t.require(try await store.get("counter", in: main), "the counter")
            try t.equal(final.value, 200, "the counter after 200 increments")
            try t.equal(final.version, 201, "the counter's version")
        },
        Check(name: "expiry", promise: "A record is invisible to every read the moment its ttl ends, and its key is free again.") { t in
            let clock = ManualClock()
            let store = try await t.store(clock: clock)
            let stored = try await store.put("session", value: "token alpha", in: t.main, options: PutOptions(ttl: .seconds(10)))
            try t.expect(stored.expiresAt.map { abs($0.timeIntervalSince(clock.now) - 10) < 0.001 } == true, "expiresAt is now + ttl")
            try await store.put("keep", value: "forever alpha", in: t.main)
            clock.advance(seconds: 9.9)
            try t.equal(try await store.get("session", in: t.main)?.value, "token alpha", "get just before expiry")
            clock.advance(seconds: 0.1)
            try t.equal(try await store.get("session", in: t.main), nil, "get at expiry")
            try t.equal(try await store.list(in: t.main).records.map(\.key), ["keep"], "list after expiry")
            try t.equal(try await store.search("alpha", in: t.main, limit: 10).map(\.record.key), ["keep"], "search after expiry")
            try t.equal(try await store.namespaces(), [NamespaceSummary(namespace: t.main, recordCount: 1)], "namespaces after expiry")
            let recreated = try await store.put("session", value: "new", in: t.main, options: PutOptions(ifVersion: 0))
            try t.equal(recreated.version, 1, "an expired key starts again at version 1")
            try t.equal(recreated.expiresAt, nil, "the new record's expiry")
        },
        Check(name: "getMany", promise: "A read of several keys gives the live record of each key that has one, and nothing for the rest.") { t in
            let clock = ManualClock()
            let store = try await t.store(clock: clock)
            try await store.put("a", value: "alpha", in: t.main)
            try await store.put("b", value: ["n": 2], in: t.main)
            try await store.put("b", value: ["n": 3], in: t.main, options: PutOptions(author: "agent-2"))
            try await store.put("gone", value: "short-lived", in: t.main, options: PutOptions(ttl: .seconds(5)))
            try await store.put("theirs", value: "another namespace", in: t.other)
            clock.advance(seconds: 5)
            let keys: [MemoryKey] = ["a", "b", "gone", "theirs", "missing", "a", "caf\u{E9}"]
            let found = try await store.get(keys, in: t.main)
            try t.equal(Set(found.keys.map(\.rawValue)), ["a", "b"], "the keys found (not the expired, another namespace's or missing ones)")
            let each = try await store.get("b", in: t.main)
            try t.equal(found["b"], each, "a key's record, as a single get reads it")
            try t.equal(found["b"]?.version, 2, "the latest version")
            try t.equal(found["b"]?.author, "agent-2", "the latest author")
            try t.equal(found["a"]?.value, "alpha", "a value")
            try t.equal(try await store.get([MemoryKey](), in: t.main).count, 0, "no keys")
            try t.equal(try await store.get(["gone"], in: t.main).count, 0, "one expired key")
            try t.equal(try await store.get(["a"], in: t.main)["a"]?.value, "alpha", "one key")
        },
        Check(name: "keyBytes", promise: "Keys compare byte for byte: NFC and NFD spellings are two keys, listed in UTF-8 order.") { t in
            let store = try await t.store()
            let composed = "caf\u{E9}"
            let decomposed = "cafe\u{301}"
            try await store.put(composed, value: "composed", in: t.main)
            try await store.put(decomposed, value: "decomposed", in: t.main)
            try t.equal(try await store.get(composed, in: t.main)?.value, "composed", "the NFC key")
            try t.equal(try await store.get(decomposed, in: t.main)?.value, "decomposed", "the NFD key")
            let keys = try await store.list(in: t.main).records.map { Array($0.key.utf8) }
            try t.equal(keys, [Array(decomposed.utf8), Array(composed.utf8)], "list order by UTF-8 bytes")
            try t.equal(try await store.delete(decomposed, in: t.main), true, "deleting the NFD key")
            try t.equal(try await store.get(composed, in: t.main)?.value, "composed", "the NFC key after deleting the NFD one")
        },
        Check(name: "invalidArguments", promise: "A negative ifVersion, a ttl of zero or an author with a control character is an invalidArgument error and writes nothing.") { t in
            let store = try await t.store()
            try await t.error(.invalidArgument, "ifVersion -1") {
                try await store.put("k", value: 1, in: t.main, options: PutOptions(ifVersion: -1))
            }
            try await t.error(.invalidArgument, "ttl 0") {
                try await store.put("k", value: 1, in: t.main, options: PutOptions(ttl: .seconds(0)))
            }
            try await t.error(.invalidArgument, "an author with a NUL") {
                try await store.put("k", value: 1, in: t.main, options: PutOptions(author: "a\u{0}b"))
            }
            try await t.error(.invalidArgument, "an author with a line break, appending") {
                try await store.append("k", value: "x", in: t.main, options: AppendOptions(author: "a\nb"))
            }
            try t.equal(try await store.get("k", in: t.main), nil, "nothing written")
            try await store.put("k", value: 1, in: t.main, options: PutOptions(author: "Zoë 🧠"))
            try await t.error(.invalidArgument, "an author with a control character, deleting") {
                try await store.batch([.delete(key: "k", ifVersion: nil, author: "a\u{7F}")], in: t.main)
            }
            try t.equal(try await store.get("k", in: t.main)?.author, "Zoë 🧠", "a non-ASCII author, kept; the record not deleted")
        },
    ]
}
