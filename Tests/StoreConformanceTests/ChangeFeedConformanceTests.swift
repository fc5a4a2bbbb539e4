import AgentMemoryJSON
import AgentMemoryCore
import Foundation
import Testing

/// Change log retention on every backend (the rest of the change log contract is in ``StoreConformance``).
@Suite("Change feed and append conformance", .dropsPostgresSchemas)
struct ChangeFeedConformanceTests {
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
