/// A namespace's keys in byte order, for the in-memory store's listing and suggestion seeks,
/// kept in chunks of at most ``chunkCapacity`` keys.
///
/// One flat sorted array moved every key after the insertion point on each new key: at a
/// million keys a key that sorts first cost a move of the whole array (about 0.35 ms, and the
/// executor's in-memory row fell from 64,000 to 5,300 calls/s between 10,000 and 1,000,000
/// records). Here an insert or a removal moves at most one chunk's keys, and a seek is a binary
/// search over the chunks' last keys and then within one chunk.
struct SortedKeyList {
    /// The most keys a chunk holds; a chunk that would hold more is split in two.
    static let chunkCapacity = 512

    /// The chunks, each sorted and non-empty, every key of one below every key of the next.
    private(set) var chunks: [[ByteKey]] = []

    /// How many keys the list holds (counted: nothing on the write path keeps it).
    var count: Int { chunks.reduce(0) { $0 + $1.count } }

    /// A place in the list: a key's chunk and its offset there. The end of the list is
    /// `Position(chunk: chunks.count, offset: 0)`.
    struct Position: Equatable {
        var chunk: Int
        var offset: Int
    }

    /// The position of the first key at or after `key` in byte order (the end when there is none).
    func lowerBound(_ key: ByteKey) -> Position {
        let chunk = Self.firstIndex(in: chunks.count) { !(chunks[$0][chunks[$0].count - 1] < key) }
        guard chunk < chunks.count else { return Position(chunk: chunks.count, offset: 0) }
        return Position(chunk: chunk, offset: Self.firstIndex(in: chunks[chunk].count) { !(chunks[chunk][$0] < key) })
    }

    /// The key at `position`, or `nil` at the end.
    subscript(position: Position) -> ByteKey? {
        position.chunk < chunks.count ? chunks[position.chunk][position.offset] : nil
    }

    /// The position after `position` (which is not the end).
    func after(_ position: Position) -> Position {
        position.offset + 1 < chunks[position.chunk].count
            ? Position(chunk: position.chunk, offset: position.offset + 1)
            : Position(chunk: position.chunk + 1, offset: 0)
    }

    /// The position before `position`, or `nil` at the first key.
    func before(_ position: Position) -> Position? {
        if position.offset > 0 { return Position(chunk: position.chunk, offset: position.offset - 1) }
        guard position.chunk > 0 else { return nil }
        return Position(chunk: position.chunk - 1, offset: chunks[position.chunk - 1].count - 1)
    }

    /// Adds `key` in its place; `false` (and nothing changes) when the list holds it already.
    @discardableResult
    mutating func insert(_ key: ByteKey) -> Bool {
        guard !chunks.isEmpty else {
            chunks = [[key]]
            return true
        }
        // The first chunk whose last key is at or after `key`; past every chunk, the last one.
        var position = lowerBound(key)
        if position.chunk == chunks.count {
            position = Position(chunk: chunks.count - 1, offset: chunks[chunks.count - 1].count)
        } else if chunks[position.chunk][position.offset] == key {
            return false
        }
        chunks[position.chunk].insert(key, at: position.offset)
        if chunks[position.chunk].count > Self.chunkCapacity {
            let half = chunks[position.chunk].count / 2
            let upper = Array(chunks[position.chunk][half...])
            chunks[position.chunk].removeSubrange(half...)
            chunks.insert(upper, at: position.chunk + 1)
        }
        return true
    }

    /// Removes `key`; `false` (and nothing changes) when the list does not hold it.
    @discardableResult
    mutating func remove(_ key: ByteKey) -> Bool {
        let position = lowerBound(key)
        guard self[position] == key else { return false }
        chunks[position.chunk].remove(at: position.offset)
        if chunks[position.chunk].isEmpty { chunks.remove(at: position.chunk) }
        return true
    }

    /// The first of `0..<count` for which `reached` holds (`count` when none does), by binary
    /// search: `reached` is false up to some index and true from it on.
    private static func firstIndex(in count: Int, where reached: (Int) -> Bool) -> Int {
        var low = 0
        var high = count
        while low < high {
            let mid = (low + high) / 2
            if reached(mid) { high = mid } else { low = mid + 1 }
        }
        return low
    }
}
