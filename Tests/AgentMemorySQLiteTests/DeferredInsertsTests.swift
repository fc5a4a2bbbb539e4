import AgentMemoryCore
import AgentMemoryJSON
import Foundation
import Testing

@testable import AgentMemorySQLite

/// The held rows of a batch are bound with SQLite's C API: every column of every row, in
/// statements of 64, 32, ... 1 rows, comes back exactly as written.
@Suite("SQLite deferred inserts")
struct DeferredInsertsTests {
    @Test func everyColumnOfEveryRowComesBackExactly() async throws {
        let store = try SQLiteMemoryStore(path: try SearchIndexingTests.temporaryPath())
        let namespace = try Namespace("deferred")
        // 101 rows: statements of 64, 32, 4 and 1 rows.
        let authors: [String?] = [nil, "", "agent-1", "a b", "Zoë 🧠"]
        let values: [JSONValue] = ["", "plain", "Zoë \u{0} 🧠", 42, 1.5, .null, ["nested": [true, "x"]]]
        let operations: [MemoryOperation] = (0..<101).map { index in
            let options = PutOptions(ttl: index % 3 == 0 ? .seconds(3_600) : nil, author: authors[index % authors.count])
            return .put(key: MemoryKey(checked: "k/\(index)/é"), value: values[index % values.count], options: options)
        }
        try await store.batch(operations, in: namespace)
        let changes = try await store.changes(in: namespace, since: 0, limit: 1_000)
        #expect(changes.count == 101)
        for index in 0..<101 {
            let key = "k/\(index)/é"
            let record = try #require(try await store.get(MemoryKey(checked: key), in: namespace))
            #expect(record.value == values[index % values.count], "\(key)")
            #expect(record.author == authors[index % authors.count], "\(key)")
            #expect(record.version == 1)
            #expect((record.expiresAt != nil) == (index % 3 == 0), "\(key)")
            let change = changes[index]
            #expect(change.sequence == Int64(index + 1))
            #expect(change.key == key)
            #expect(change.operation == .put)
            #expect(change.version == 1)
            #expect(change.author == authors[index % authors.count], "\(key)")
            #expect(abs(change.time.timeIntervalSince(record.updatedAt)) < 0.001)
        }
        // The index has every row: a search finds each record whose value holds the word.
        let hits = try await store.search("plain", in: namespace, limit: 100)
        #expect(hits.filter { $0.record.value == "plain" }.count == 15)
        try await store.close()
    }
}
