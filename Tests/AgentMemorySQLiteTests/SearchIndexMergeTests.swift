import AgentMemoryCore
import AgentMemoryJSON
import Foundation
import GRDB
import Testing

@testable import AgentMemorySQLite

/// ``SQLiteMemoryStore/optimizeSearchIndex()`` merges the full-text index into one segment,
/// taking in the writes not yet indexed, and changes no search's answer.
@Suite("SQLite search index merge")
struct SearchIndexMergeTests {
    @Test func theMergeLeavesOneSegmentAndTheSameAnswers() async throws {
        let path = try SearchIndexingTests.temporaryPath()
        let store = try SQLiteMemoryStore(path: path)
        let namespace = try Namespace("merge")
        let words = ["lunch", "budget", "review", "coffee", "deadline", "client", "travel"]
        // Twenty transactions, each indexed on its own: twenty small segments, a few merged.
        for round in 0..<20 {
            try await store.batch((0..<50).map { index in
                let text = (0..<(3 + index % 5)).map { words[($0 * 3 + index + round) % words.count] }.joined(separator: " ")
                return .put(key: MemoryKey(checked: "n/\(round)/\(index)"), value: .string(text))
            }, in: namespace)
            try await store.catchUpSearchIndex()
        }
        // Written but not yet indexed: the merge takes them in first.
        try await store.put(MemoryKey(checked: "late"), value: .string("a late lunch"), in: namespace)
        let queries = ["lunch", "budget review", "coffee deadline client", "late lunch"]
        var answers: [[String]] = []
        for query in queries {
            answers.append(try await store.search(query, in: namespace, limit: 10).map { "\($0.record.key) \($0.score)" })
        }
        let segments = try await store.read { db in try SQLiteSearchIndexing.segmentCount(db) }
        #expect(segments > 1)
        try await store.put(MemoryKey(checked: "later"), value: .string("a later lunch"), in: namespace)
        let merged = try await store.optimizeSearchIndex()
        #expect(merged.before > 1)
        #expect(merged.after == 1)
        #expect(try await store.read { db in try SQLiteSearchIndexFile.standingOnReader(db) } == .current)
        try await store.delete(MemoryKey(checked: "later"), in: namespace)
        for (query, answer) in zip(queries, answers) {
            #expect(try await store.search(query, in: namespace, limit: 10).map { "\($0.record.key) \($0.score)" } == answer)
        }
        // Writes after the merge are found as before.
        try await store.put(MemoryKey(checked: "after"), value: .string("quokka"), in: namespace)
        #expect(try await store.search("quokka", in: namespace, limit: 10).map(\.record.key) == ["after"])
        try await store.close()
        // A closed store says so.
        await #expect(throws: MemoryError.self) { try await store.optimizeSearchIndex() }
    }
}
