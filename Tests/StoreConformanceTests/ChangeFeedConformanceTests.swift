import AgentMemoryJSON
import AgentMemoryCore
import Foundation
import Testing

/// The crew promises every backend keeps: the change log, authorship, atomic append.
@Suite("Change feed and append conformance", .dropsPostgresSchemas)
struct ChangeFeedConformanceTests {
    @Test(arguments: StoreKind.allCases)
    func everyWriteIsLoggedInOrderWithItsAuthor(kind: StoreKind) async throws {
        let clock = ManualClock()
        let store = try kind.make(clock: clock)
        try await store.put("a", value: 1, in: main, options: PutOptions(author: "alice"))
        clock.advance(seconds: 1)
        try await store.put("a", value: 2, in: main, options: PutOptions(author: "bob"))
        try await store.append("list", value: "x", in: main, options: AppendOptions(author: "carol"))
        try await store.delete("a", in: main, ifVersion: 2, author: "dave")
        try await store.batch([
            .put(key: "b", value: true, options: PutOptions(author: "erin")),
            .delete(key: "missing", author: "erin"),
            .append(key: "list", value: "y", options: AppendOptions(author: "erin")),
        ], in: main)
        try await store.put("elsewhere", value: 1, in: other, options: PutOptions(author: "zed"))
        // A rejected write logs nothing.
        _ = try? await store.put("b", value: false, in: main, options: PutOptions(ifVersion: 9, author: "mallory"))

        let changes = try await store.changes(in: main, since: 0, limit: 100)
        #expect(changes.map(\.sequence) == [1, 2, 3, 4, 5, 6])
        #expect(changes.map(\.key) == ["a", "a", "list", "a", "b", "list"])
        #expect(changes.map(\.operation) == [.put, .put, .append, .delete, .put, .append])
        #expect(changes.map(\.version) == [1, 2, 1, 2, 1, 2])
        #expect(changes.map(\.author) == ["alice", "bob", "carol", "dave", "erin", "erin"])
        #expect(abs(changes[1].time.timeIntervalSince(changes[0].time) - 1) < 0.001)
        #expect(try await store.changes(in: main, since: 4, limit: 100).map(\.sequence) == [5, 6])
        #expect(try await store.changes(in: main, since: 0, limit: 2).map(\.sequence) == [1, 2])
        #expect(try await store.changes(in: main, since: 6, limit: 10).isEmpty)
        #expect(try await store.changes(in: other, since: 0, limit: 10).map(\.author) == ["zed"])
        let history = try await store.history(of: "a", in: main, limit: 10)
        #expect(history.map(\.version) == [1, 2, 2])
        #expect(history.map(\.operation) == [.put, .put, .delete])
        #expect(try await store.history(of: "a", in: main, limit: 1).map(\.operation) == [.delete])
    }

    @Test(arguments: StoreKind.allCases)
    func appendBuildsListsAndStrings(kind: StoreKind) async throws {
        let store = try kind.make()
        let first = try await store.append("todo", value: "buy milk", in: main)
        #expect(first.value == ["buy milk"])
        #expect(first.version == 1)
        let second = try await store.append("todo", value: ["task": "call"], in: main)
        #expect(second.value == ["buy milk", ["task": "call"]])
        #expect(second.version == 2)
        try await store.put("log", value: "line one", in: main, options: PutOptions(ttl: .seconds(3600)))
        let appended = try await store.append("log", value: "line two", in: main, options: AppendOptions(separator: "\n"))
        #expect(appended.value == "line one\nline two")
        #expect(appended.expiresAt != nil, "append keeps the record's expiry")
        try await store.put("empty", value: "", in: main)
        #expect(try await store.append("empty", value: "x", in: main, options: AppendOptions(separator: "\n")).value == "x")
        try await store.put("number", value: 5, in: main)
        let refused = await #expect(throws: MemoryError.self) { try await store.append("number", value: 1, in: main) }
        #expect(refused?.message == "Cannot append to key \"number\": it holds an integer; append works on arrays and strings")
        let mixed = await #expect(throws: MemoryError.self) { try await store.append("log", value: 1, in: main) }
        #expect(mixed?.message == "Cannot append a integer to key \"log\": it holds a string, and only a string can be appended to a string")
        let conflict = await #expect(throws: MemoryError.self) {
            try await store.append("todo", value: "late", in: main, options: AppendOptions(ifVersion: 1))
        }
        #expect(conflict?.currentVersion == 2)
        #expect(try await store.get("todo", in: main)?.value == ["buy milk", ["task": "call"]])
    }

    @Test(arguments: StoreKind.allCases)
    func appendsRespectTheValueLimit(kind: StoreKind) async throws {
        let store = try kind.make(limits: MemoryLimits(maxValueBytes: 20))
        try await store.append("list", value: "0123456789", in: main)
        let tooBig = await #expect(throws: MemoryError.self) { try await store.append("list", value: "0123456789", in: main) }
        #expect(tooBig?.code == .valueTooLarge)
        #expect(try await store.get("list", in: main)?.value == ["0123456789"])
    }

    @Test(arguments: StoreKind.allCases)
    func concurrentAppendsLoseAndDuplicateNothing(kind: StoreKind) async throws {
        let store = try kind.make()
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
        let items = try #require(try await store.get("shared", in: main)?.value.arrayValue).compactMap(\.stringValue)
        #expect(items.count == 200)
        #expect(Set(items).count == 200)
        for writer in 0..<8 {
            // Each writer's items are in its own order.
            let mine = items.filter { $0.hasPrefix("\(writer)-") }
            #expect(mine == (0..<25).map { "\(writer)-\($0)" })
        }
        let changes = try await store.changes(in: main, since: 0, limit: 1000)
        #expect(changes.map(\.version) == Array(1...200))
    }

    @Test(arguments: StoreKind.allCases)
    func watchDeliversTheBacklogThenNewChanges(kind: StoreKind) async throws {
        let store = try kind.make()
        try await store.put("before-1", value: 1, in: main, options: PutOptions(author: "a"))
        try await store.put("before-2", value: 1, in: main, options: PutOptions(author: "a"))
        let stream = store.watch(in: main, since: 1)
        let reader = Task {
            var seen: [MemoryChange] = []
            for try await change in stream {
                seen.append(change)
                if seen.count == 4 { break }
            }
            return seen
        }
        try await Task.sleep(for: .milliseconds(50))
        try await store.put("after-1", value: 1, in: main, options: PutOptions(author: "b"))
        try await store.put("noise", value: 1, in: other, options: PutOptions(author: "x"))
        try await store.delete("before-1", in: main, ifVersion: nil, author: "c")
        try await store.append("after-2", value: 1, in: main, options: AppendOptions(author: "d"))
        let seen = try await withTimeout(seconds: 10) { try await reader.value }
        #expect(seen.map(\.key) == ["before-2", "after-1", "before-1", "after-2"])
        #expect(seen.map(\.sequence) == [2, 3, 4, 5])
        #expect(seen.map(\.author) == ["a", "b", "c", "d"])
    }

    @Test(arguments: StoreKind.allCases)
    func retentionDropsOldEntries(kind: StoreKind) async throws {
        let clock = ManualClock()
        let store = try kind.make(retention: ChangeLogRetention(maxAge: .seconds(60), maxEntriesPerNamespace: 3), clock: clock)
        for index in 0..<5 {
            try await store.put("k\(index)", value: 1, in: main)
        }
        try await store.pruneIfPossible()
        #expect(try await store.changes(in: main, since: 0, limit: 100).map(\.sequence) == [3, 4, 5])
        clock.advance(seconds: 120)
        try await store.put("late", value: 1, in: main)
        try await store.pruneIfPossible()
        #expect(try await store.changes(in: main, since: 0, limit: 100).map(\.key) == ["late"])
        #expect(try await store.changes(in: main, since: 0, limit: 100).map(\.sequence) == [6])
    }
}

/// Fails the test instead of hanging when `body` does not finish in time.
func withTimeout<T: Sendable>(seconds: Double, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: .seconds(seconds))
            throw TimeoutError()
        }
        let result = try await group.next()!
        group.cancelAll()
        return result
    }
}

struct TimeoutError: Error, CustomStringConvertible {
    var description: String { "timed out" }
}
