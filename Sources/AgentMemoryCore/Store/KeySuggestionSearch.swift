/// One range seek in a namespace's keys, in byte order: what a backend runs on its ordered
/// key index to gather suggestion candidates.
package struct KeySeek: Sendable, Hashable {
    /// Which way the seek reads from its bound.
    package enum Direction: Sendable, Hashable {
        /// Keys `>= bound`, ascending.
        case forward
        /// Keys `< bound`, descending.
        case backward
    }

    /// Where the seek starts (bytes; not always valid UTF-8).
    package var bound: [UInt8]
    /// Which way it reads.
    package var direction: Direction
    /// At most this many live keys.
    package var limit: Int

    /// A seek.
    package init(_ bound: [UInt8], _ direction: Direction, limit: Int) {
        self.bound = bound
        self.direction = direction
        self.limit = limit
    }

    /// The bound hashed as one buffer (an array of bytes hashes byte by byte, several times
    /// slower: the second step's set of seeks spent a quarter of its time there).
    package func hash(into hasher: inout Hasher) {
        bound.withUnsafeBytes { hasher.combine(bytes: $0) }
        hasher.combine(direction)
        hasher.combine(limit)
    }
}

/// Finds the existing keys that resemble a key that was not found with a bounded number of
/// seeks in key order, instead of a scan: the engine behind the backends'
/// ``MemoryStore/suggestKeys(near:in:limit:)``.
///
/// Candidates come from places a near miss lives in byte order:
/// - the missing key's neighbours, and the first keys of each directory it names (`a/b/`);
/// - one-byte edits of its last segment: the key with a byte left out, two bytes swapped, or
///   a byte replaced or inserted by a character found next to it in the index;
/// - the same last segments under other directories (the first top-level directories and
///   those of the candidates found so far): `notes/deadline` finds `project/deadline`.
///
/// The candidates are ranked with ``KeySimilarity``. The first step's seeks are fixed by the
/// key; the second step's come from what the first found, so a networked store can send each
/// step as one statement.
package enum KeySuggestionSearch {
    /// Whether `byte` ends a directory in a key: `/`, `.` or `:`.
    static func isSeparator(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: "/") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: ":")
    }
    /// How many neighbours on each side of the key.
    static let neighbours = 8
    /// How many positions of the last segment are edited.
    static let editedPositions = 16
    /// How many other directories the last segments are tried under.
    static let otherDirectories = 16

    /// The seeks that do not depend on what is found.
    package static func firstSeeks(near key: String) -> [KeySeek] {
        let bytes = Array(key.utf8)
        var seeks = [KeySeek(bytes, .forward, limit: neighbours), KeySeek(bytes, .backward, limit: neighbours)]
        for end in directoryEnds(bytes).suffix(3) {
            seeks.append(KeySeek(Array(bytes[...end]), .forward, limit: neighbours))
        }
        for position in editablePositions(bytes) {
            var deleted = bytes
            deleted.remove(at: position)
            if !deleted.isEmpty { seeks.append(KeySeek(deleted, .forward, limit: 2)) }
            if position + 1 < bytes.count, bytes[position] != bytes[position + 1] {
                var swapped = bytes
                swapped.swapAt(position, position + 1)
                seeks.append(KeySeek(swapped, .forward, limit: 2))
            }
            // The keys just past and just before the subtree of bytes[...position]: where the
            // characters next to bytes[position] continue the same prefix.
            if bytes[position] < 0xFF {
                seeks.append(KeySeek(Array(bytes[..<position]) + [bytes[position] + 1], .forward, limit: 2))
            }
            seeks.append(KeySeek(Array(bytes[...position]), .backward, limit: 2))
        }
        return seeks
    }

    /// The seeks made from the keys the first step found (and any directories found by a
    /// walk of the top-level directories): replaced and inserted characters seen next to each
    /// position, and the key's last segments under other directories.
    package static func secondSeeks(near key: String, found: [String], directories: [[UInt8]] = []) -> [KeySeek] {
        let bytes = Array(key.utf8)
        var seeks: [KeySeek] = []
        var seen = Set<KeySeek>()
        func add(_ seek: KeySeek) { if seen.insert(seek).inserted { seeks.append(seek) } }
        let positions = Set(editablePositions(bytes))
        var otherDirectories: [[UInt8]] = []
        var knownDirectories = Set(directoryEnds(bytes).map { ByteKey(bytes: Array(bytes[...$0])) })
        // The (position, character) pairs already tried: most candidates are neighbours that
        // give the same pair, and the seeks it makes are added once anyway.
        var triedCharacters = Set<Int>()
        for candidate in found {
            let other = Array(candidate.utf8)
            // A character next to bytes[position] under the same prefix: try it in place of,
            // and in front of, bytes[position].
            let common = zip(bytes, other).prefix { $0.0 == $0.1 }.count
            if positions.contains(common), common < other.count, triedCharacters.insert(common << 8 | Int(other[common])).inserted {
                let prefix = Array(bytes[..<common]) + [other[common]]
                add(KeySeek(prefix + bytes[(common + 1)...], .forward, limit: 2))
                add(KeySeek(prefix + bytes[common...], .forward, limit: 2))
            }
            // The candidate's first two directories; one inside the prefix it shares with the
            // key is one of the key's own, known from the start.
            var directoriesSeen = 0
            for end in other.indices where isSeparator(other[end]) {
                directoriesSeen += 1
                if end >= common, knownDirectories.insert(ByteKey(bytes: Array(other[...end]))).inserted {
                    otherDirectories.append(Array(other[...end]))
                }
                if directoriesSeen == 2 { break }
            }
        }
        for directory in directories where knownDirectories.insert(ByteKey(bytes: directory)).inserted { otherDirectories.append(directory) }
        let tails = Self.tails(bytes)
        for directory in otherDirectories.prefix(Self.otherDirectories) {
            for tail in tails { add(KeySeek(directory + tail, .forward, limit: 2)) }
        }
        return seeks
    }

    /// The key's endings tried under other directories: the whole key, the key without its
    /// first directory, and its last segment.
    static func tails(_ bytes: [UInt8]) -> [[UInt8]] {
        let ends = directoryEnds(bytes)
        var tails = [bytes]
        for end in [ends.first, ends.last].compactMap({ $0 }) where end + 1 < bytes.count {
            let tail = Array(bytes[(end + 1)...])
            if !tails.contains(tail) { tails.append(tail) }
        }
        return tails
    }

    /// The positions of separators in `bytes`.
    static func directoryEnds(_ bytes: [UInt8]) -> [Int] {
        bytes.indices.filter { isSeparator(bytes[$0]) }
    }

    /// The positions of the last segment that single-byte edits are tried at.
    static func editablePositions(_ bytes: [UInt8]) -> [Int] {
        let start = (directoryEnds(bytes).last.map { $0 + 1 }) ?? 0
        return Array((start..<bytes.count).prefix(editedPositions))
    }

    /// The bound just past every key that starts with `directory` (its last byte plus one).
    static func pastDirectory(_ directory: [UInt8]) -> [UInt8] {
        var bound = directory
        bound[bound.count - 1] += 1  // a separator is ASCII, so this never overflows
        return bound
    }

    /// Runs both steps with a synchronous seek (a backend that reads its index in process or in
    /// one transaction) and ranks what they find: up to `limit` keys, best first. Reserved
    /// keys are never returned. The top-level directories are walked one seek each.
    package static func run(near key: String, limit: Int, seek: (KeySeek) throws -> [String]) rethrows -> [String] {
        var found: [String] = []
        for step in firstSeeks(near: key) { found += try seek(step) }
        var directories: [[UInt8]] = []
        var bound: [UInt8] = []
        var walked = 0
        while directories.count < otherDirectories, walked < 2 * otherDirectories,
            let first = try seek(KeySeek(bound, .forward, limit: 1)).first
        {
            walked += 1
            let bytes = Array(first.utf8)
            guard let end = bytes.firstIndex(where: isSeparator) else {
                bound = bytes + [0]
                continue
            }
            if !ReservedKeys.isReserved(first) { directories.append(Array(bytes[...end])) }
            bound = pastDirectory(Array(bytes[...end]))
        }
        for step in secondSeeks(near: key, found: found, directories: directories) { found += try seek(step) }
        return rank(found, near: key, limit: limit)
    }

    /// Up to `limit` of `candidates` that resemble `key`, best first, without reserved keys
    /// and the key itself.
    package static func rank(_ candidates: [String], near key: String, limit: Int) -> [String] {
        KeySimilarity(key).best(
            candidates.lazy.filter { !ReservedKeys.isReserved($0) && !$0.bytesEqual(key) }, limit: limit)
    }
}
