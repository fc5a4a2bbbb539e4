import AgentMemoryCore
import AgentMemoryJSON
import Foundation

extension StoreConformance {
    /// What crews rely on: the change log with authors, history, atomic append, and watch.
    static let changeLogChecks: [Check] = [
        Check(name: "changeLog", promise: "Every write is logged once, in order, with its author; a refused write logs nothing.") { t in
            let clock = ManualClock()
            let store = try await t.store(clock: clock)
            try await store.put("a", value: 1, in: t.main, options: PutOptions(author: "alice"))
            clock.advance(seconds: 1)
            try await store.put("a", value: 2, in: t.main, options: PutOptions(author: "bob"))
            try await store.append("list", value: "x", in: t.main, options: AppendOptions(author: "carol"))
            try await store.delete("a", in: t.main, ifVersion: 2, author: "dave")
            try await store.batch([
                .put(key: "b", value: true, options: PutOptions(author: "erin")),
                .delete(key: "missing", author: "erin"),
                .append(key: "list", value: "y", options: AppendOptions(author: "erin")),
            ], in: t.main)
            try await store.put("elsewhere", value: 1, in: t.other, options: PutOptions(author: "zed"))
            _ = try? await store.put("b", value: false, in: t.main, options: PutOptions(ifVersion: 9, author: "mallory"))

            let changes = try await store.changes(in: t.main, since: 0, limit: 100)
            try t.equal(changes.map(\.key), ["a", "a", "list", "a", "b", "list"], "logged keys")
            try t.equal(changes.map(\.operation), [.put, .put, .append, .delete, .put, .append], "logged operations")
            try t.equal(changes.map(\.version), [1, 2, 1, 2, 1, 2], "logged versions")
            try t.equal(changes.map(\.author), ["alice", "bob", "carol", "dave", "erin", "erin"], "logged authors")
            let sequences = changes.map(\.sequence)
            try t.expect(zip(sequences, sequences.dropFirst()).allSatisfy { $0 < $1 }, "sequences strictly increase: \(sequences)")
            try t.expect(abs(changes[1].time.timeIntervalSince(changes[0].time) - 1) < 0.001, "entries carry the clock's time")
            try t.equal(try await store.changes(in: t.main, since: sequences[3], limit: 100).map(\.sequence), Array(sequences[4...]), "since is exclusive")
            try t.equal(try await store.changes(in: t.main, since: 0, limit: 2).map(\.sequence), Array(sequences[..<2]), "the limit")
            try t.equal(try await store.changes(in: t.main, since: sequences[5], limit: 10), [], "nothing after the last entry")
            try t.equal(try await store.changes(in: t.other, since: 0, limit: 10).map(\.author), ["zed"], "another namespace's log")
            let history = try await store.history(of: "a", in: t.main, limit: 10)
            try t.equal(history.map(\.version), [1, 2, 2], "history versions, oldest first")
            try t.equal(history.map(\.operation), [.put, .put, .delete], "history operations")
            try t.equal(try await store.history(of: "a", in: t.main, limit: 1).map(\.operation), [.delete], "history keeps the newest")
        },
        Check(name: "append", promise: "append builds a list or extends a string, keeps expiry, refuses other types and stale versions.") { t in
            let store = try await t.store()
            let first = try await store.append("todo", value: "buy milk", in: t.main)
            try t.equal(first.value, ["buy milk"], "the first append makes a list")
            try t.equal(first.version, 1, "its version")
            let second = try await store.append("todo", value: ["task": "call"], in: t.main)
            try t.equal(second.value, ["buy milk", ["task": "call"]], "the second append")
            try t.equal(second.version, 2, "its version")
            try await store.put("log", value: "line one", in: t.main, options: PutOptions(ttl: .seconds(3600)))
            let appended = try await store.append("log", value: "line two", in: t.main, options: AppendOptions(separator: "\n"))
            try t.equal(appended.value, "line one\nline two", "a string append with a separator")
            try t.expect(appended.expiresAt != nil, "append keeps the record's expiry")
            try await store.put("empty", value: "", in: t.main)
            let afterEmpty = try await store.append("empty", value: "x", in: t.main, options: AppendOptions(separator: "\n"))
            try t.equal(afterEmpty.value, "x", "no separator after an empty string")
            try await store.put("number", value: 5, in: t.main)
            try await t.error(.invalidArgument, "appending to an integer") { try await store.append("number", value: 1, in: t.main) }
            try await t.error(.invalidArgument, "appending an integer to a string") { try await store.append("log", value: 1, in: t.main) }
            let conflict = try await t.error(.versionConflict, "an append with a stale version") {
                try await store.append("todo", value: "late", in: t.main, options: AppendOptions(ifVersion: 1))
            }
            try t.equal(conflict.currentVersion, 2, "the current version in the conflict")
            try t.equal(try await store.get("todo", in: t.main)?.value, ["buy milk", ["task": "call"]], "the list after the refusals")
        },
        Check(name: "concurrentAppends", promise: "8 tasks appending 25 items each to one list lose and duplicate nothing.") { t in
            let store = try await t.store()
            let main = t.main
            try await withThrowingTaskGroup(of: Void.self) { group in
                for writer in 0..<8 {
                    group.addTask {
                        for item in 0..<25 {
                            try await store.append("shared", value: .string("\(writer)-\(item)"), in: main, options: AppendOptions(author: "w\(writer)"))
                        }
                    }
                }
                try await group.waitForAll()
            }
            let items = try t.require(try await store.get("shared", in: main)?.value.arrayValue, "the list").compactMap(\.stringValue)
            try t.equal(items.count, 200, "items")
            try t.equal(Set(items).count, 200, "distinct items")
            for writer in 0..<8 {
                try t.equal(items.filter { $0.hasPrefix("\(writer)-") }, (0..<25).map { "\(writer)-\($0)" }, "writer \(writer)'s items in its order")
            }
            try t.equal(try await store.changes(in: main, since: 0, limit: 1000).map(\.version), Array(1...200), "one log entry per append")
        },
        Check(name: "watch", promise: "watch delivers the backlog after `since`, then new changes of its namespace only.") { t in
            let store = try await t.store()
            try await store.put("before-1", value: 1, in: t.main, options: PutOptions(author: "a"))
            try await store.put("before-2", value: 1, in: t.main, options: PutOptions(author: "a"))
            let since = try t.require(try await store.changes(in: t.main, since: 0, limit: 1).first?.sequence, "the first entry")
            let stream = store.watch(in: t.main, since: since)
            let reader = Task {
                var seen: [MemoryChange] = []
                for try await change in stream {
                    seen.append(change)
                    if seen.count == 4 { break }
                }
                return seen
            }
            try await Task.sleep(for: .milliseconds(50))
            try await store.put("after-1", value: 1, in: t.main, options: PutOptions(author: "b"))
            try await store.put("noise", value: 1, in: t.other, options: PutOptions(author: "x"))
            try await store.delete("before-1", in: t.main, ifVersion: nil, author: "c")
            try await store.append("after-2", value: 1, in: t.main, options: AppendOptions(author: "d"))
            let timeout = Task {
                try await Task.sleep(for: .seconds(10))
                reader.cancel()
            }
            let seen = try await reader.value
            timeout.cancel()
            try t.equal(seen.map(\.key), ["before-2", "after-1", "before-1", "after-2"], "watched keys (cut short after 10 s if fewer)")
            try t.equal(seen.map(\.author), ["a", "b", "c", "d"], "watched authors")
        },
    ]
}
