@testable import AgentMemoryCore
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
}
