import AgentMemoryJSON
import AgentMemoryCore
import Testing

/// Ranking on a small corpus of its own: the same answers from every store, so that a change
/// of ranking shows here first.
@Suite("Search ranking")
struct SearchRankingTests {
    let main = try! Namespace("ranking")

    func filled(_ kind: StoreKind) async throws -> any MemoryStore {
        let store = try kind.make()
        let notes: [(String, String)] = [
            ("trip.paris", "We booked the train to Paris for the spring holiday"),
            ("pets", "Melanie adopted two cats from the shelter last year"),
            ("work.report", "The quarterly report is due before the board meeting"),
            ("garden", "Planting tomatoes and basil in the garden this weekend"),
            ("music", "She is learning to play the violin with a teacher"),
            ("chatter", "it is what it is and that is that, is it not"),
        ]
        try await store.batch(notes.map { .put(key: MemoryKey(checked: $0.0), value: .string($0.1)) }, in: main)
        return store
    }

    func keys(_ store: any MemoryStore, _ query: String, limit: Int = 10) async throws -> [String] {
        try await store.search(query, in: main, limit: limit).map(\.record.key)
    }

    /// Stop words in a question do not outweigh its topic words.
    @Test(arguments: StoreKind.allCases)
    func stopWordsDoNotOutrankTheTopic(kind: StoreKind) async throws {
        let store = try await filled(kind)
        #expect(try await keys(store, "What is it that she plays, the violin?") == ["music"])
        #expect(try await keys(store, "What did Melanie adopt from the shelter?") == ["pets"])
        // A query of stop words only still finds what holds them, except on PostgreSQL, whose
        // English configuration indexes no stop words at all.
        #expect(try await keys(store, "what is it", limit: 1) == (kind.isPostgres ? [] : ["chatter"]))
    }

    /// Words match across their forms (Porter stemming on both sides).
    @Test(arguments: StoreKind.allCases)
    func stemmedFormsMatch(kind: StoreKind) async throws {
        let store = try await filled(kind)
        #expect(try await keys(store, "cat adoption") == ["pets"])
        #expect(try await keys(store, "plants in gardens") == ["garden"])
        let hits = try await store.search("booking trains", in: main, limit: 10)
        #expect(hits.map(\.record.key) == ["trip.paris"])
        #expect(hits[0].snippet.contains("[booked]"))
        #expect(hits[0].snippet.contains("[train]"))
    }

    /// A key's words weigh more than a value's; more of the query's rare words rank higher.
    @Test(arguments: StoreKind.allCases)
    func moreMatchedWordsAndKeyWordsRankFirst(kind: StoreKind) async throws {
        let store = try await filled(kind)
        try await store.put("meeting", value: "notes of the board", in: main)
        #expect(try await keys(store, "board meeting") == ["meeting", "work.report"])
        #expect(try await keys(store, "quarterly board meeting") == ["work.report", "meeting"])
    }

    /// A namespace's best matches are found even when another namespace holds many better ones
    /// (SQLite ranks the whole index first and must then look further).
    @Test(arguments: StoreKind.allCases)
    func anotherNamespaceFullOfBetterMatchesHidesNothing(kind: StoreKind) async throws {
        let store = try await filled(kind)
        let crowded = try Namespace("ranking-crowded")
        try await store.batch((0..<40).map { .put(key: MemoryKey(checked: "violin.\($0)"), value: "violin violin violin lessons") }, in: crowded)
        #expect(try await keys(store, "violin", limit: 1) == ["music"])
        let crowdedHits = try await store.search("violin", in: crowded, limit: 3).map(\.record.key)
        #expect(crowdedHits.count == 3 && Set(crowdedHits).count == 3 && crowdedHits.allSatisfy { $0.hasPrefix("violin.") })
    }

    /// A conversation stored turn by turn (numbered keys): the reply that holds none of the
    /// question's words is found through the turns next to it.
    @Test(arguments: StoreKind.allCases)
    func aReplyIsFoundThroughItsNeighbours(kind: StoreKind) async throws {
        let store = try await filled(kind)
        try await store.batch([
            .put(key: "chat/D1:1", value: "Melanie: we celebrated my daughter's birthday with a concert"),
            .put(key: "chat/D1:2", value: "Caroline: wow, who performed?"),
            .put(key: "chat/D1:3", value: "Melanie: it was Matt Patterson, he sang beautifully"),
            .put(key: "chat/D1:4", value: "Caroline: I started a new painting of a sunset"),
            .put(key: "chat/D1:5", value: "Melanie: I love sunsets, the colours are calming"),
            .put(key: "chat/D1:6", value: "Caroline: my cat knocked it over twice"),
            .put(key: "chat/D1:7", value: "Melanie: cats are like that"),
        ], in: main)
        let found = try await keys(store, "Who performed at the birthday concert?", limit: 3)
        #expect(found.first == "chat/D1:1")
        #expect(Set(found) == ["chat/D1:1", "chat/D1:2", "chat/D1:3"])
        // Without a trailing number a key is ranked alone: plain BM25.
        #expect(try await keys(store, "adopted cats") == ["pets", "chat/D1:7", "chat/D1:6", "chat/D1:5", "chat/D1:4"])
    }

    /// The statistics a search ranks with follow the writes: a store searched before and after
    /// many writes scores as a store that only saw them all (PostgreSQL keeps a namespace's
    /// record count between searches until enough of it changed).
    @Test(arguments: StoreKind.allCases)
    func statisticsFollowTheWrites(kind: StoreKind) async throws {
        let searched = try await filled(kind)
        let fresh = try await filled(kind)
        #expect(try await keys(searched, "violin teacher") == ["music"])
        let more: [MemoryOperation] = (0..<30).map {
            .put(key: MemoryKey(checked: "more.\($0)"), value: .string("violin practice notes, day \($0)"))
        }
        try await searched.batch(more, in: main)
        try await fresh.batch(more, in: main)
        let after = try await searched.search("violin teacher", in: main, limit: 5)
        let expected = try await fresh.search("violin teacher", in: main, limit: 5)
        #expect(after.map(\.record.key) == expected.map(\.record.key))
        #expect(after.map(\.score) == expected.map(\.score))
        #expect(after.first?.record.key == "music")
    }

    /// The in-memory and SQLite stores give the same hits with the same scores for a fixed
    /// corpus (one ranking definition, ``ContextRanking``, fed with the same counts);
    /// PostgreSQL gives the same hits in the same order (its average record length is an
    /// estimate, so its scores differ a little).
    @Test func everyStoreRanksAlike() async throws {
        var results: [[String]] = []
        var scores: [[Double]] = []
        for kind in [StoreKind.inMemory, .sqlite] + (StoreKind.allCases.contains(.postgres) ? [.postgres] : []) {
            let store = try await filled(kind)
            try await store.batch((1...12).map { index in
                let topics = ["garden tomatoes", "violin lessons", "the board meeting", "train tickets to Paris"]
                return .put(key: MemoryKey(checked: "log/\(index)"), value: .string("Step \(index): about \(topics[index % 4]) and more"))
            }, in: main)
            var keys: [String] = []
            var values: [Double] = []
            for query in ["garden", "violin teacher", "board meeting report", "Paris train", "step about more", "zebra"] {
                let hits = try await store.search(query, in: main, limit: 5)
                keys += hits.map(\.record.key) + ["|"]
                values += hits.map(\.score)
            }
            results.append(keys)
            scores.append(values)
        }
        #expect(results[0] == results[1])
        #expect(scores[0].count == scores[1].count && zip(scores[0], scores[1]).allSatisfy { abs($0 - $1) < 1e-9 })
        if results.count == 3 {
            #expect(results[2] == results[0])
            #expect(scores[2].count == scores[0].count && zip(scores[2], scores[0]).allSatisfy { abs($0 - $1) < 0.1 * $1 })
        }
    }

    /// Values that are not plain strings (escapes, non-ASCII, objects, numbers) are matched,
    /// ranked and snipped alike in memory and on SQLite (SQLite reads a plain string's words
    /// from its stored bytes and parses the rest).
    @Test func valuesOfEveryKindRankAndSnipAlike() async throws {
        let values: [(String, JSONValue)] = [
            ("q/1", .string("a \"quoted\" garden\nwith\ttabs and a back\\slash garden")),
            ("q/2", .string("Gärten und garden: ünïcode words beside the garden")),
            ("q/3", .object(JSONObject([("topic", .string("garden")), ("count", .int(3))]))),
            ("q/4", .array([.string("garden"), .string("violin"), .bool(true)])),
            ("q/5", .string("plain garden words, nothing escaped")),
            ("q/6", .int(42)),
        ]
        var hits: [[String]] = []
        for kind in [StoreKind.inMemory, .sqlite] {
            let store = try kind.make()
            try await store.batch(values.map { .put(key: MemoryKey(checked: $0.0), value: $0.1) }, in: main)
            var seen: [String] = []
            for query in ["garden", "violin", "quoted tabs", "ünïcode", "topic count", "42"] {
                for hit in try await store.search(query, in: main, limit: 10) {
                    seen.append("\(hit.record.key) \(hit.record.value.jsonString()) \(hit.snippet) \((hit.score * 1e9).rounded())")
                }
                seen.append("|")
            }
            hits.append(seen)
        }
        #expect(hits[0] == hits[1])
        #expect(hits[1].contains { $0.hasPrefix("q/1 ") && $0.contains("[garden]") })
    }
}
