/// The in-memory store's full-text index of one namespace, ranked with Okapi BM25 as SQLite's
/// FTS5 ranks (`bm25(memory_fts, 2.0, 1.0)`: a key's words count twice, one length per record).
///
/// Words are stemmed (``PorterStemmer``, as FTS5's `porter` tokenizer). Each record has a
/// slot number; each stem has a list of postings (slot, the record's generation, weighted
/// count, length), appended on write. A removed or rewritten record bumps its slot's
/// generation instead of searching the lists, so its old postings go stale and are skipped;
/// a list is compacted once more than half of it is stale. Scoring walks arrays, not hash
/// tables, and a query's common words are only looked up for the candidates of its rarer
/// words once they cannot bring in a better record (the "max-score" idea).
import Foundation

struct InMemorySearchIndex {
    private struct Posting {
        var slot: UInt32
        var generation: UInt32
        /// Occurrences in the key (twice) and the value.
        var count: UInt16
        /// The record's length in words (key and value), capped.
        var length: UInt16
    }

    private struct Slot {
        var key: ByteKey?
        var generation: UInt32 = 0
        /// The record's length in words (key and value), capped.
        var length: UInt16 = 0
        /// Stem ids and weighted counts of the record in the slot.
        var stems: [(stem: Int32, count: UInt16)] = []
    }

    private var stemIDs: [String: Int32] = [:]
    private var postings: [[Posting]] = []
    private var stale: [Int32] = []
    private var slots: [Slot] = []
    private var slotOfKey: [ByteKey: UInt32] = [:]
    private var freeSlots: [UInt32] = []
    private var totalLength = 0
    /// The stem ids of words seen lately (stemming costs more than a look-up, and one look-up
    /// of the word costs less than one of the word and one of its stem).
    private var wordIDs: [String: Int32] = [:]
    /// For the record ``index(_:_:)`` is counting: each stem's position in its counts plus one
    /// (0: not seen in it yet); all 0 between records.
    private var positionOfStem: [Int32] = []

    static let k1 = 1.2
    static let b = 0.75

    /// The id of `word`'s stem, given now if the stem had none.
    private mutating func stemID(ofWord word: String) -> Int32 {
        if let known = wordIDs[word] { return known }
        let id = stemID(PorterStemmer.stem(word))
        if wordIDs.count >= 50_000 { wordIDs.removeAll(keepingCapacity: true) }
        wordIDs[word] = id
        return id
    }

    /// Indexes the words of `record`'s key and value under `key` (replacing what was there).
    mutating func index(_ key: ByteKey, _ record: MemoryRecord) {
        unindex(key, record)
        let keyWords = SearchText.terms(of: record.key)
        let valueWords = SearchText.terms(of: SearchText.body(of: record.value))
        // Each stem's weighted count, in the order first seen, found through
        // ``positionOfStem``: a dictionary of the words made for each record (grown from empty,
        // every word hashed into it and then into ``stemIDs``): its growth alone was 7% of a batch's
        // puts (BENCHMARKS.md, round fifty-five).
        var counts: [(stem: Int32, count: Int)] = []
        counts.reserveCapacity(keyWords.count + valueWords.count)
        for word in keyWords { count(word, weight: 2, into: &counts) }
        for word in valueWords { count(word, weight: 1, into: &counts) }
        let length = keyWords.count + valueWords.count
        let slot: UInt32
        if let free = freeSlots.popLast() {
            slot = free
        } else {
            slot = UInt32(slots.count)
            slots.append(Slot())
        }
        slotOfKey[key] = slot
        let cappedLength = UInt16(min(length, Int(UInt16.max)))
        slots[Int(slot)].key = key
        slots[Int(slot)].length = cappedLength
        let generation = slots[Int(slot)].generation
        var stems: [(stem: Int32, count: UInt16)] = []
        stems.reserveCapacity(counts.count)
        for (id, count) in counts {
            positionOfStem[Int(id)] = 0
            let weighted = UInt16(min(count, Int(UInt16.max)))
            stems.append((id, weighted))
            postings[Int(id)].append(Posting(slot: slot, generation: generation, count: weighted, length: cappedLength))
        }
        slots[Int(slot)].stems = stems
        totalLength += Int(cappedLength)
    }

    /// Adds `weight` to the count of `word`'s stem in `counts` (the record being indexed).
    private mutating func count(_ word: String, weight: Int, into counts: inout [(stem: Int32, count: Int)]) {
        let id = stemID(ofWord: word)
        let position = Int(positionOfStem[Int(id)])
        if position > 0 {
            counts[position - 1].count += weight
        } else {
            counts.append((id, weight))
            positionOfStem[Int(id)] = Int32(counts.count)
        }
    }

    /// The id of `stemmed`, given now (with an empty list of postings) if it had none.
    private mutating func stemID(_ stemmed: String) -> Int32 {
        if let known = stemIDs[stemmed] { return known }
        let id = Int32(postings.count)
        stemIDs[stemmed] = id
        postings.append([])
        stale.append(0)
        positionOfStem.append(0)
        return id
    }

    /// Removes what ``index(_:_:)`` added under `key`.
    mutating func unindex(_ key: ByteKey, _ record: MemoryRecord) {
        guard let slot = slotOfKey.removeValue(forKey: key) else { return }
        let old = slots[Int(slot)]
        for (stem, _) in old.stems {
            stale[Int(stem)] += 1
            if Int(stale[Int(stem)]) * 2 > postings[Int(stem)].count, stale[Int(stem)] >= 16 { compact(stem, removing: slot) }
        }
        totalLength -= Int(old.length)
        slots[Int(slot)] = Slot(key: nil, generation: old.generation &+ 1, length: 0, stems: [])
        freeSlots.append(slot)
    }

    /// Drops the stale postings of `stem` (and the one of `slot`, about to go stale).
    private mutating func compact(_ stem: Int32, removing slot: UInt32) {
        let current = slots
        postings[Int(stem)].removeAll { posting in
            posting.slot == slot || current[Int(posting.slot)].generation != posting.generation
        }
        stale[Int(stem)] = 0
    }

    private var liveCount: Int { slotOfKey.count }

    /// Inverse document frequency as Lucene and FTS5 compute it, never below a small positive value.
    private func idf(_ stem: Int32) -> Double {
        let matching = Double(postings[Int(stem)].count - Int(stale[Int(stem)]))
        let total = Double(liveCount)
        return max(1e-6, log((total - matching + 0.5) / (matching + 0.5) + 1))
    }

    /// The best `limit` keys for `query` with their BM25 scores, best first (key bytes break
    /// ties), among those `isLive` accepts.
    func search(_ query: String, limit: Int, isLive: (ByteKey) -> Bool) -> [(key: ByteKey, score: Double)] {
        var terms: [(stem: Int32, idf: Double)] = []
        for word in SearchText.queryTerms(of: query) {
            guard let id = wordIDs[word] ?? stemIDs[PorterStemmer.stem(word)], !terms.contains(where: { $0.stem == id }) else { continue }
            terms.append((id, idf(id)))
        }
        guard !terms.isEmpty, liveCount > 0 else { return [] }
        // Rarest first: they have the fewest postings and weigh the most.
        terms.sort { $0.idf > $1.idf }
        let k1 = Self.k1
        let average = max(1, Double(totalLength) / Double(liveCount))
        func weight(count: UInt16, length: UInt16, idf: Double) -> Double {
            let tf = Double(count)
            return idf * tf * (k1 + 1) / (tf + k1 * (1 - Self.b + Self.b * Double(length) / average))
        }
        var scores = Scores(slots: slots.count, expected: terms.reduce(0) { $0 + postings[Int($1.stem)].count })
        var remainingBound = terms.reduce(0) { $0 + $1.idf * (k1 + 1) }
        for (position, term) in terms.enumerated() {
            // Once `limit` live candidates already score more than this and every later word
            // could add together, no record outside them can enter the best `limit`: the
            // word is then looked up in the candidates instead of walking its postings.
            if position > 0, scores.count >= limit, postings[Int(term.stem)].count > scores.count,
               threshold(scores, limit: limit, isLive: isLive) > remainingBound {
                var found: [(UInt32, Double)] = []
                scores.forEach { slot, _ in
                    guard let match = slots[Int(slot)].stems.first(where: { $0.stem == term.stem }) else { return }
                    found.append((slot, weight(count: match.count, length: slots[Int(slot)].length, idf: term.idf)))
                }
                for (slot, value) in found { scores.add(slot, value) }
            } else {
                for posting in postings[Int(term.stem)] where slots[Int(posting.slot)].generation == posting.generation {
                    scores.add(posting.slot, weight(count: posting.count, length: posting.length, idf: term.idf))
                }
            }
            remainingBound -= term.idf * (k1 + 1)
        }
        return best(scores, limit: limit, isLive: isLive)
    }

    /// The score of the `limit`-th best live candidate (0 when there are fewer).
    private func threshold(_ scores: Scores, limit: Int, isLive: (ByteKey) -> Bool) -> Double {
        let top = best(scores, limit: limit, isLive: isLive)
        return top.count == limit ? top[limit - 1].score : 0
    }

    /// The best `limit` live candidates, kept as they come (no sort of every match). Liveness
    /// (expiry) is checked on the chosen ones only; if one is not live, once more checking each.
    private func best(_ scores: Scores, limit: Int, isLive: (ByteKey) -> Bool) -> [(key: ByteKey, score: Double)] {
        func ranksAbove(_ a: (key: ByteKey, score: Double), _ b: (key: ByteKey, score: Double)) -> Bool {
            a.score != b.score ? a.score > b.score : a.key < b.key
        }
        func select(checkingEach: Bool) -> [(key: ByteKey, score: Double)] {
            var best: [(key: ByteKey, score: Double)] = []
            scores.forEach { slot, score in
                if best.count == limit, let last = best.last, score < last.score { return }
                guard let key = slots[Int(slot)].key else { return }
                let hit = (key: key, score: score)
                if best.count == limit, let last = best.last, !ranksAbove(hit, last) { return }
                if checkingEach, !isLive(key) { return }
                let position = best.firstIndex { ranksAbove(hit, $0) } ?? best.count
                best.insert(hit, at: position)
                if best.count > limit { best.removeLast() }
            }
            return best
        }
        let first = select(checkingEach: false)
        return first.allSatisfy({ isLive($0.key) }) ? first : select(checkingEach: true)
    }

    /// The ids of `stems` (`nil` for a stem no record holds).
    func ids(of stems: [String]) -> [Int32?] { stems.map { stemIDs[$0] } }

    /// BM25's collection statistics for the stems of `ids` (records, average length, frequencies).
    func statistics(_ ids: [Int32?]) -> SearchStatistics {
        SearchStatistics(
            documents: liveCount, averageLength: Double(totalLength) / Double(max(1, liveCount)),
            documentFrequencies: ids.map { id in id.map { postings[Int($0)].count - Int(stale[Int($0)]) } ?? 0 })
    }

    /// The ranking's view of the record under `key` for the stems of `ids`, from the index
    /// (no words split or stemmed again); `nil` when no record is indexed under `key`.
    func document(_ key: ByteKey, _ ids: [Int32?]) -> SearchDocument? {
        guard let slot = slotOfKey[key] else { return nil }
        let entry = slots[Int(slot)]
        var counts = [Double](repeating: 0, count: ids.count)
        for (index, id) in ids.enumerated() {
            guard let id, let match = entry.stems.first(where: { $0.stem == id }) else { continue }
            counts[index] = Double(match.count)
        }
        return SearchDocument(length: Int(entry.length), counts: counts)
    }
}

/// Partial scores by slot: a hash table for a few candidates, an array over every slot when
/// the query's postings are many (no hashing per posting).
private struct Scores {
    private var sparse: [UInt32: Double] = [:]
    private var dense: [Double] = []
    private var touched: [UInt32] = []
    private let isDense: Bool

    init(slots: Int, expected: Int) {
        isDense = expected > slots / 16
        if isDense {
            dense = [Double](repeating: 0, count: slots)
            touched.reserveCapacity(expected)
        } else {
            sparse.reserveCapacity(expected)
        }
    }

    /// Adds `value` (always above zero) to the score of `slot`.
    mutating func add(_ slot: UInt32, _ value: Double) {
        if isDense {
            if dense[Int(slot)] == 0 { touched.append(slot) }
            dense[Int(slot)] += value
        } else {
            sparse[slot, default: 0] += value
        }
    }

    var count: Int { isDense ? touched.count : sparse.count }

    func forEach(_ body: (UInt32, Double) -> Void) {
        if isDense {
            for slot in touched { body(slot, dense[Int(slot)]) }
        } else {
            for (slot, score) in sparse { body(slot, score) }
        }
    }
}
