import AgentMemoryJSON
import AgentMemory
import Foundation

/// Deterministic test data: keys, and values that read like an agent's short notes, so that
/// full-text search has real words to index and rank.
///
/// Words of a note follow a Zipf distribution over a vocabulary of common words followed by
/// made-up names (so a few words are everywhere and most are rare, as in real notes); search
/// queries take two words uniformly from the vocabulary, like an agent looking up a topic.
struct BenchData: Sendable {
    static let commonWords = """
        user prefers likes wants asked said meeting project deadline team review budget report client \
        email call notes plan task bug fix release version api server database cache memory agent model \
        prompt token context tool result error retry timeout config setting default path file folder \
        branch commit merge test build deploy staging production customer invoice order payment refund \
        account password login session profile address phone city country language timezone morning \
        evening weekend monday tuesday wednesday thursday friday tea coffee lunch dinner travel flight \
        hotel train ticket booking schedule calendar reminder follow up urgent later today tomorrow week \
        month quarter goal metric growth revenue cost price discount contract legal policy security access \
        permission role admin owner manager engineer designer writer editor draft final approved rejected \
        pending blocked done open closed priority high low medium small large fast slow simple complex \
        favorite color music book movie game sport dog cat garden kitchen recipe allergy diet vegetarian
        """.split(separator: " ").map(String.init)

    /// The vocabulary, most frequent first.
    let vocabulary: [String]
    /// Cumulative Zipf weights over `vocabulary`, for sampling by binary search.
    private let cumulative: [Double]

    init(syntheticWords: Int = 4_000) {
        let syllables = ["ka", "lo", "mi", "ren", "ta", "vo", "shi", "qua", "dor", "pel", "zan", "tru", "bex", "nim", "ost", "yul"]
        var words = Self.commonWords
        var generator = SplitMix64(seed: 42)
        var seen = Set(words)
        while words.count < Self.commonWords.count + syntheticWords {
            let length = 2 + Int(generator.next() % 3)
            let word = (0..<length).map { _ in syllables[Int(generator.next() % UInt64(syllables.count))] }.joined()
            if seen.insert(word).inserted { words.append(word) }
        }
        vocabulary = words
        var total = 0.0
        cumulative = (1...words.count).map { rank in
            total += 1.0 / Double(rank)
            return total
        }
    }

    /// The key of record `index`: zero-padded so key order is index order.
    static func key(_ index: Int) -> String {
        let digits = String(index)
        return "note/" + String(repeating: "0", count: max(0, 7 - digits.count)) + digits
    }

    /// A Zipf-distributed word.
    func word(_ generator: inout SplitMix64) -> String {
        let target = Double(generator.next() >> 11) / Double(1 << 53) * cumulative[cumulative.count - 1]
        var low = 0
        var high = cumulative.count - 1
        while low < high {
            let mid = (low + high) / 2
            if cumulative[mid] < target { low = mid + 1 } else { high = mid }
        }
        return vocabulary[low]
    }

    /// How many words a note has (uniformly): 16 on average.
    static let noteWords = 8...24

    /// The value of record `index`: a note of 8 to 24 words (about 60 to 200 bytes).
    func note(_ index: Int) -> JSONValue {
        var generator = SplitMix64(seed: UInt64(index) &* 0x9E37_79B9_7F4A_7C15 &+ 7)
        let count = Self.noteWords.lowerBound + Int(generator.next() % UInt64(Self.noteWords.count))
        var text = ""
        for position in 0..<count {
            if position > 0 { text += position % 7 == 0 ? ", " : " " }
            text += word(&generator)
        }
        return .string(text.prefix(1).uppercased() + text.dropFirst() + ".")
    }

    /// Search query `index`: two words taken uniformly from the vocabulary.
    func query(_ index: Int) -> String {
        let (first, second) = queryRanks(index)
        return vocabulary[first] + " " + vocabulary[second]
    }

    /// The words of search query `index`, as positions in the vocabulary (0 the most frequent).
    func queryRanks(_ index: Int) -> (Int, Int) {
        var generator = SplitMix64(seed: UInt64(index) &+ 1_000_003)
        let first = Int(generator.next() % UInt64(vocabulary.count))
        let second = Int(generator.next() % UInt64(vocabulary.count))
        return (first, second)
    }
}

/// A small, fast, seedable random generator (SplitMix64), so every run uses the same data.
struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
