@testable import AgentMemoryCore
import Testing

@Suite("Key suggestion seeks")
struct KeySuggestionSearchTests {
    /// The second step's seeks as they were made before candidates' repeated characters and
    /// known directories were skipped without building their seeks: the reference.
    static func referenceSecondSeeks(near key: String, found: [String], directories: [[UInt8]]) -> [KeySeek] {
        let bytes = Array(key.utf8)
        var seeks: [KeySeek] = []
        var seen = Set<KeySeek>()
        func add(_ seek: KeySeek) { if seen.insert(seek).inserted { seeks.append(seek) } }
        let positions = Set(KeySuggestionSearch.editablePositions(bytes))
        var otherDirectories: [[UInt8]] = []
        var knownDirectories = Set(KeySuggestionSearch.directoryEnds(bytes).map { Array(bytes[...$0]) })
        for candidate in found {
            let other = Array(candidate.utf8)
            let common = zip(bytes, other).prefix { $0.0 == $0.1 }.count
            if positions.contains(common), common < other.count {
                let prefix = Array(bytes[..<common]) + [other[common]]
                add(KeySeek(prefix + bytes[(common + 1)...], .forward, limit: 2))
                add(KeySeek(prefix + bytes[common...], .forward, limit: 2))
            }
            for end in KeySuggestionSearch.directoryEnds(other).prefix(2) where knownDirectories.insert(Array(other[...end])).inserted {
                otherDirectories.append(Array(other[...end]))
            }
        }
        for directory in directories where knownDirectories.insert(directory).inserted { otherDirectories.append(directory) }
        let tails = KeySuggestionSearch.tails(bytes)
        for directory in otherDirectories.prefix(KeySuggestionSearch.otherDirectories) {
            for tail in tails { add(KeySeek(directory + tail, .forward, limit: 2)) }
        }
        return seeks
    }

    /// Random keys with directories, shared prefixes and repeated characters.
    static func randomKey(_ generator: inout some RandomNumberGenerator) -> String {
        let pieces = ["note", "notes", "user", "a", "b", "0", "1", "/", "/", ".", ":", "x", "caf\u{E9}"]
        return (0..<Int.random(in: 1...7, using: &generator)).map { _ in pieces.randomElement(using: &generator)! }.joined()
    }

    /// The second step's seeks, in order, are the reference's for random keys and candidates.
    @Test func theSecondSeeksAreTheReferences() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2_000 {
            let key = Self.randomKey(&generator)
            let found = (0..<Int.random(in: 0...40, using: &generator)).map { _ in Self.randomKey(&generator) }
            let directories = (0..<Int.random(in: 0...3, using: &generator)).map { _ in Array((Self.randomKey(&generator) + "/").utf8) }
            #expect(KeySuggestionSearch.secondSeeks(near: key, found: found, directories: directories)
                == Self.referenceSecondSeeks(near: key, found: found, directories: directories), "\(key) \(found)")
        }
    }
}
