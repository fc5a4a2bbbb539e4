@testable import AgentMemoryCore
import Foundation
import Testing

@Suite("Context ranking")
struct ContextRankingTests {
    @Test func neighboursAreTheTrailingNumberPlusAndMinus() {
        #expect(ContextRanking.neighbourKeys(of: "26/D1:12") == ["26/D1:11", "26/D1:13", "26/D1:10", "26/D1:14"])
        #expect(ContextRanking.neighbourKeys(of: "note/0000123") == ["note/0000122", "note/0000124", "note/0000121", "note/0000125"])
        #expect(ContextRanking.neighbourKeys(of: "step-1.md") == ["step-0.md", "step-2.md", "step-3.md"])
        #expect(ContextRanking.neighbourKeys(of: "log/099") == ["log/098", "log/100", "log/097", "log/101"])
        #expect(ContextRanking.neighbourKeys(of: "user.preferences").isEmpty)
        #expect(ContextRanking.neighbourKeys(of: "big/12345678901234567890").isEmpty)
    }

    @Test func keysToReadReachTwiceTheWindowAndSkipThePool() {
        let keys = ContextRanking.keysToRead(around: [Array("t/5".utf8), Array("t/6".utf8)]).map { String(decoding: $0, as: UTF8.self) }
        #expect(keys == ["t/4", "t/3", "t/7", "t/2", "t/8", "t/1", "t/9", "t/10"])
    }

    /// Plain BM25 for keys without numbers; a neighbour's words lend context to a turn.
    @Test func rankingScoresContext() {
        let statistics = SearchStatistics(documents: 10, averageLength: 6, documentFrequencies: [2])
        let documents: [ByteKey: SearchDocument] = [
            ByteKey("a"): SearchDocument(length: 6, counts: [1]),
            ByteKey("b"): SearchDocument(length: 12, counts: [1]),
            ByteKey("t/1"): SearchDocument(length: 6, counts: [0]),
            ByteKey("t/2"): SearchDocument(length: 6, counts: [1]),
        ]
        let pool = ["b", "a", "t/2"].map { Array($0.utf8) }
        let ranked = ContextRanking.rank(pool: pool, documents: documents, statistics: statistics, limit: 10)
        #expect(ranked.map { String(decoding: $0.key, as: UTF8.self) } == ["a", "t/2", "b", "t/1"])
        #expect(ranked.allSatisfy { $0.score > 0 })
        #expect(ContextRanking.rank(pool: pool, documents: documents, statistics: statistics, limit: 2).count == 2)
    }

    @Test func documentsCountKeyWordsTwiceAndMatchStems() {
        let document = SearchDocument(key: "notes.painting", body: "She painted a painting; paints daily", stems: ["paint", "daili", "zebra"])
        #expect(document.length == 8)
        #expect(document.counts == [5, 1, 0])
    }

    /// The ranking finds neighbours by number; this is the definition it must agree with, score
    /// for score: each record with the documents `neighbourKeys(of:)` names, summed in its order.
    @Test func neighboursFoundByNumberAreTheNeighboursByKey() {
        let keys = [
            "log/8", "log/9", "log/09", "log/10", "log/11", "log/099", "log/100", "log/101", "log/0100",
            "a1b/7", "a1b/8", "a1b/6", "x", "y2", "y3z", "y4z", "big/999999999999999999", "big/1000000000000000000",
            "big/1000000000000000001", "n/0", "n/1", "n/2", "log/0099", "log/99", "log/0101",
        ]
        var documents: [ByteKey: SearchDocument] = [:]
        for (index, key) in keys.enumerated() {
            documents[ByteKey(key)] = SearchDocument(length: index * 7 % 20 + 1, counts: [Double(index % 3), Double(index % 2)])
        }
        let statistics = SearchStatistics(documents: 40, averageLength: 9, documentFrequencies: [7, 3])
        // Pool keys with and without documents, padded and not, at the edges of the 18-digit limit.
        let pool = ["log/9", "log/100", "log/12", "a1b/7", "y3z", "x", "big/999999999999999999", "n/1", "log/099", "log/09", "log/0100"].map { Array($0.utf8) }
        let ranked = ContextRanking.rank(pool: pool, documents: documents, statistics: statistics, limit: 100)
        #expect(ranked.map(\.key) == Self.reference(pool: pool, documents: documents, statistics: statistics).map(\.key))
        #expect(ranked.map(\.score) == Self.reference(pool: pool, documents: documents, statistics: statistics).map(\.score))
    }

    /// The ranking by keys, as first written.
    static func reference(pool: [[UInt8]], documents: [ByteKey: SearchDocument], statistics: SearchStatistics) -> [(key: [UInt8], score: Double)] {
        let total = Double(statistics.documents)
        let idf = statistics.documentFrequencies.map { max(1e-6, log((total - Double($0) + 0.5) / (Double($0) + 0.5) + 1)) }
        let average = max(1, statistics.averageLength) * (1 + ContextRanking.neighbourWeight * Double(2 * ContextRanking.window))
        var candidates: [ByteKey] = []
        var seen = Set<ByteKey>()
        for key in pool.map(ByteKey.init(bytes:)) where documents[key] != nil && seen.insert(key).inserted { candidates.append(key) }
        for key in pool {
            for neighbour in ContextRanking.neighbourKeys(of: key).map(ByteKey.init(bytes:))
            where documents[neighbour] != nil && seen.insert(neighbour).inserted {
                candidates.append(neighbour)
            }
        }
        var scored: [(key: [UInt8], score: Double)] = []
        for key in candidates {
            guard let own = documents[key] else { continue }
            var counts = own.counts
            var length = Double(own.length)
            for neighbour in ContextRanking.neighbourKeys(of: key.bytes) {
                guard let context = documents[ByteKey(bytes: neighbour)] else { continue }
                length += ContextRanking.neighbourWeight * Double(context.length)
                for index in counts.indices { counts[index] += ContextRanking.neighbourWeight * context.counts[index] }
            }
            let norm = ContextRanking.k1 * (1 - ContextRanking.b + ContextRanking.b * length / average)
            var score = 0.0
            for (index, count) in counts.enumerated() where count > 0 {
                score += idf[index] * count * (ContextRanking.k1 + 1) / (count + norm)
            }
            if score > 0 { scored.append((key.bytes, score)) }
        }
        scored.sort { $0.score != $1.score ? $0.score > $1.score : $0.key.lexicographicallyPrecedes($1.key) }
        return scored
    }
}
