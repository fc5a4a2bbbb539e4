import Foundation

/// The one ranking of `search`, shared by the stores: Okapi BM25 over each record together
/// with its neighbours in a numbered sequence.
///
/// Records written as a sequence (turns of a conversation, steps of a log) have keys that
/// differ only in a trailing number (`chat/D3:7`, `chat/D3:8`). The record that answers a
/// question is often the one next to the record that shares the question's words (the reply
/// after it), so each record is scored as if it also held its neighbours' words at a fraction
/// of their weight (document expansion by context): up to ``window`` numbers on either side,
/// at ``neighbourWeight``. A record whose key has no trailing number is scored alone, which
/// is plain BM25.
///
/// A store's own index gives a pool of candidates (the best ``poolSize`` by plain BM25, found
/// cheaply), the store reads the pool's neighbours by key (within the namespace, live ones
/// only), and this type scores the pool and its neighbours. The stores differ only in where
/// the counts come from; the formula is here once.
package enum ContextRanking {
    /// Okapi BM25's term-frequency saturation.
    package static let k1 = 1.2
    /// Okapi BM25's length normalisation.
    package static let b = 0.75
    /// How far a record's context reaches: this many numbers below and above its own.
    package static let window = 2
    /// How much a neighbour's words count in a record's context.
    package static let neighbourWeight = 0.4
    /// The smallest pool of plain-BM25 candidates re-ranked with their context.
    package static let poolSize = 10

    /// The number of plain-BM25 candidates to re-rank for a search of `limit` hits.
    package static func poolLimit(for limit: Int) -> Int { max(limit, poolSize) }

    /// Keys next to `key` in its numbered sequence, nearest first: its last run of ASCII digits
    /// minus and plus 1 up to `reach`, with the same zero padding (none when the key has no number).
    package static func neighbourKeys(of key: String, reach: Int = window) -> [String] {
        neighbourKeys(of: Array(key.utf8), reach: reach).map { String(decoding: $0, as: UTF8.self) }
    }

    /// ``neighbourKeys(of:reach:)`` on key bytes.
    package static func neighbourKeys(of bytes: [UInt8], reach: Int = window) -> [[UInt8]] {
        guard let last = bytes.lastIndex(where: isDigit) else { return [] }
        var first = last
        while first > 0, isDigit(bytes[first - 1]) { first -= 1 }
        let width = last - first + 1
        guard width <= 18 else { return [] }
        let number = bytes[first...last].reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) }
        let padded = width > 1 && bytes[first] == UInt8(ascii: "0")
        var keys: [[UInt8]] = []
        keys.reserveCapacity(2 * reach)
        for distance in 1...max(1, reach) {
            for neighbour in [number - distance, number + distance] where neighbour >= 0 {
                // The number's digits, written backwards into the key's tail (no `String`).
                var digits: [UInt8] = []
                var rest = neighbour
                repeat {
                    digits.append(UInt8(ascii: "0") + UInt8(rest % 10))
                    rest /= 10
                } while rest > 0
                if padded, digits.count < width { digits.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: width - digits.count)) }
                var key = [UInt8]()
                key.reserveCapacity(bytes.count + 1)
                key += bytes[..<first]
                key += digits.reversed()
                key += bytes[(last + 1)...]
                keys.append(key)
            }
        }
        return keys
    }

    /// The keys whose records the ranking needs besides the pool: every key within twice
    /// ``window`` of a pool key (the pool's neighbours, and theirs), each once, pool keys left out.
    package static func keysToRead(around pool: [[UInt8]]) -> [[UInt8]] {
        let inPool = Set(pool.map(ByteKey.init(bytes:)))
        var seen = Set<ByteKey>()
        var keys: [[UInt8]] = []
        for key in pool {
            for neighbour in neighbourKeys(of: key, reach: window * 2) {
                let byteKey = ByteKey(bytes: neighbour)
                if !inPool.contains(byteKey), seen.insert(byteKey).inserted { keys.append(neighbour) }
            }
        }
        return keys
    }

    /// The best `limit` keys among the pool and the pool's neighbours, with their scores, best
    /// first (key bytes break ties); records that score nothing are left out. `documents` holds
    /// the pool and every live record ``keysToRead(around:)`` named, by key bytes (keys compare
    /// byte for byte, not as `String`s).
    package static func rank(
        pool: [[UInt8]], documents: [ByteKey: SearchDocument], statistics: SearchStatistics, limit: Int
    ) -> [(key: [UInt8], score: Double)] {
        let keys = Array(documents.keys)
        return rank(pool: pool, keys: keys, documents: keys.map { documents[$0]! }, statistics: statistics, limit: limit)
            .map { (key: keys[$0.position].bytes, score: $0.score) }
    }

    /// ``rank(pool:documents:statistics:limit:)`` over the documents as two arrays, `keys[i]`
    /// the key of `documents[i]` (each key once; any order): the hits as positions in them.
    package static func rank(
        pool: [[UInt8]], keys: [ByteKey], documents: [SearchDocument], statistics: SearchStatistics, limit: Int
    ) -> [(position: Int, score: Double)] {
        guard statistics.documents > 0 else { return [] }
        let idf = inverseFrequencies(statistics)
        // A context holds up to 2 × window neighbours at their weight: the average grows alike.
        let average = max(1, statistics.averageLength) * (1 + neighbourWeight * Double(2 * window))
        // Neighbours are found by number in an index of the documents' keys (no key is built
        // for a lookup), in the order `neighbourKeys(of:)` gives them, so that the sums below
        // are made in the same order as by keys.
        let index = NeighbourIndex(keys: keys, documents: documents)
        var candidates: [Int] = []
        var seen = Set<Int>()
        for key in pool {
            if let position = index.position(of: ByteKey(bytes: key)), seen.insert(position).inserted { candidates.append(position) }
        }
        for key in pool {
            for neighbour in index.neighbours(of: NumberedKey(key, maxWidth: 18)) where seen.insert(neighbour).inserted {
                candidates.append(neighbour)
            }
        }
        var scored: [(position: Int, score: Double)] = []
        scored.reserveCapacity(candidates.count)
        for position in candidates {
            let own = index.entries[position].document
            var counts = own.counts
            var length = Double(own.length)
            for neighbour in index.neighbours(of: index.entries[position].numbered) {
                let context = index.entries[neighbour].document
                length += neighbourWeight * Double(context.length)
                for term in counts.indices { counts[term] += neighbourWeight * context.counts[term] }
            }
            let score = bm25(counts: counts, length: length, average: average, idf: idf)
            if score > 0 { scored.append((position, score)) }
        }
        scored.sort { $0.score != $1.score ? $0.score > $1.score : keys[$0.position].bytes.lexicographicallyPrecedes(keys[$1.position].bytes) }
        return Array(scored.prefix(limit))
    }

    /// Each query stem's weight: Lucene's idf over the collection's records.
    private static func inverseFrequencies(_ statistics: SearchStatistics) -> [Double] {
        let total = Double(statistics.documents)
        return statistics.documentFrequencies.map { frequency in
            max(1e-6, log((total - Double(frequency) + 0.5) / (Double(frequency) + 0.5) + 1))
        }
    }

    /// Plain Okapi BM25 of each of `documents` (no context: the score a record has alone),
    /// with the formula of ``rank(pool:keys:documents:statistics:limit:)``: how a store whose
    /// own index does not rank by BM25 (PostgreSQL) picks its pool from candidates it read.
    package static func plainScores(_ documents: [SearchDocument], statistics: SearchStatistics) -> [Double] {
        guard statistics.documents > 0 else { return documents.map { _ in 0 } }
        let idf = inverseFrequencies(statistics)
        let average = max(1, statistics.averageLength)
        return documents.map { bm25(counts: $0.counts, length: Double($0.length), average: average, idf: idf) }
    }

    /// Okapi BM25 of a text of `length` words holding each query stem `counts[i]` times.
    @inline(__always)
    private static func bm25(counts: [Double], length: Double, average: Double, idf: [Double]) -> Double {
        let norm = k1 * (1 - b + b * length / average)
        var score = 0.0
        for (term, count) in counts.enumerated() where count > 0 {
            score += idf[term] * count * (k1 + 1) / (count + norm)
        }
        return score
    }

    fileprivate static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    /// A key split around its last run of ASCII digits, as ``neighbourKeys(of:reach:)`` reads it.
    fileprivate struct NumberedKey {
        /// The bytes before and after the digits, with a separator no UTF-8 text holds (0xFF).
        var family: ByteKey
        var number: Int
        var width: Int
        var padded: Bool

        /// `nil` when `bytes` has no digits or more than `maxWidth` of them (or a number beyond `Int`).
        init?(_ bytes: [UInt8], maxWidth: Int) {
            guard let last = bytes.lastIndex(where: isDigit) else { return nil }
            var first = last
            while first > 0, isDigit(bytes[first - 1]) { first -= 1 }
            width = last - first + 1
            guard width <= maxWidth else { return nil }
            var number = 0
            for digit in bytes[first...last] {
                let (times, overflow) = number.multipliedReportingOverflow(by: 10)
                let (sum, overflowAgain) = times.addingReportingOverflow(Int(digit - UInt8(ascii: "0")))
                guard !overflow, !overflowAgain else { return nil }
                number = sum
            }
            self.number = number
            padded = width > 1 && bytes[first] == UInt8(ascii: "0")
            var family = [UInt8]()
            family.reserveCapacity(bytes.count - width + 1)
            family += bytes[..<first]
            family.append(0xFF)
            family += bytes[(last + 1)...]
            self.family = ByteKey(bytes: family)
        }
    }

    /// The documents by key, and by family and number for finding a key's neighbours.
    private struct NeighbourIndex {
        struct Entry {
            var key: ByteKey
            var document: SearchDocument
            var numbered: NumberedKey?
        }

        struct Slot: Hashable {
            var family: Int
            var number: Int
        }

        private(set) var entries: [Entry] = []
        private var positions: [ByteKey: Int] = [:]
        private var families: [ByteKey: Int] = [:]
        /// The entries with each family and number, with their digit counts.
        private var slots: [Slot: [(width: Int, position: Int)]] = [:]

        /// The index of `documents`, `keys[i]` the key of `documents[i]`: entry `i` is theirs.
        init(keys: [ByteKey], documents: [SearchDocument]) {
            entries.reserveCapacity(documents.count)
            positions.reserveCapacity(documents.count)
            for (key, document) in zip(keys, documents) {
                // 19 digits: a neighbour of an 18-digit number can have one more.
                let numbered = NumberedKey(key.bytes, maxWidth: 19)
                let position = entries.count
                entries.append(Entry(key: key, document: document, numbered: numbered.flatMap { $0.width <= 18 ? $0 : nil }))
                positions[key] = position
                if let numbered {
                    let family = families[numbered.family] ?? families.count
                    families[numbered.family] = family
                    slots[Slot(family: family, number: numbered.number), default: []].append((numbered.width, position))
                }
            }
        }

        func position(of key: ByteKey) -> Int? { positions[key] }

        /// The entries whose keys ``ContextRanking/neighbourKeys(of:reach:)`` names for `key`
        /// (within ``ContextRanking/window``), in its order.
        func neighbours(of key: NumberedKey?) -> [Int] {
            guard let key, let family = families[key.family] else { return [] }
            var found: [Int] = []
            for distance in 1...max(1, window) {
                for number in [key.number - distance, key.number + distance] where number >= 0 {
                    guard let candidates = slots[Slot(family: family, number: number)] else { continue }
                    // The neighbour's digits: the number, zero-padded to the key's width if the key is padded.
                    var digits = 1
                    var rest = number / 10
                    while rest > 0 { digits += 1; rest /= 10 }
                    let width = key.padded ? max(digits, key.width) : digits
                    if let match = candidates.first(where: { $0.width == width }) { found.append(match.position) }
                }
            }
            return found
        }
    }
}

/// What the ranking needs of one record: its length in words (key and value) and how often
/// each query word occurs in it (a key's words count twice).
package struct SearchDocument: Sendable {
    /// Words in the key and the value.
    package var length: Int
    /// Weighted occurrences of each query stem, in the query's order.
    package var counts: [Double]

    /// A document of `length` words with `counts` for the query's stems.
    package init(length: Int, counts: [Double]) {
        self.length = length
        self.counts = counts
    }

    /// The document of a record's key and value for the query `stems` (see ``QueryMatcher``;
    /// a search makes one matcher for all the records it reads).
    package init(key: String, body: String, stems: [String]) {
        self = QueryMatcher(stems: stems).document(key: key, body: body)
    }
}

/// Collection statistics for BM25: records, their average length, and in how many records
/// each query stem occurs.
package struct SearchStatistics: Sendable {
    /// Records in the collection.
    package var documents: Int
    /// Average length in words (key and value).
    package var averageLength: Double
    /// Records holding each query stem, in the query's order.
    package var documentFrequencies: [Int]

    /// Statistics of `documents` records of `averageLength` words with the given frequencies.
    package init(documents: Int, averageLength: Double, documentFrequencies: [Int]) {
        self.documents = documents
        self.averageLength = averageLength
        self.documentFrequencies = documentFrequencies
    }
}
