@testable import AgentMemoryCore
import Testing

@Suite("Sorted key list")
struct SortedKeyListTests {
    /// Random inserts and removals (enough keys for many chunks, splits and emptied chunks)
    /// keep the list equal to a sorted array of the same keys, read forwards and backwards, and
    /// every seek lands where a binary search of that array does.
    @Test func staysEqualToASortedArray() {
        var generator = SystemRandomNumberGenerator()
        var list = SortedKeyList()
        var reference: [ByteKey] = []
        func randomKey() -> ByteKey {
            // Short keys over a small alphabet: many duplicates, shared prefixes, empty keys.
            ByteKey(bytes: (0..<Int.random(in: 0...4, using: &generator)).map { _ in UInt8.random(in: 0x61...0x64, using: &generator) }
                + [UInt8(truncatingIfNeeded: Int.random(in: 0..<40, using: &generator))])
        }
        func lowerBound(_ key: ByteKey) -> Int { reference.firstIndex { !($0 < key) } ?? reference.count }
        for round in 0..<6_000 {
            let key = randomKey()
            let present = reference.contains(key)
            if round % 3 == 2 {
                let removed = list.remove(key)
                #expect(removed == present)
                if present { reference.remove(at: lowerBound(key)) }
            } else {
                let inserted = list.insert(key)
                #expect(inserted == !present)
                if !present { reference.insert(key, at: lowerBound(key)) }
            }
        }
        #expect(reference.count > 3 * SortedKeyList.chunkCapacity)
        #expect(list.count == reference.count)
        #expect(list.chunks.allSatisfy { !$0.isEmpty && $0.count <= SortedKeyList.chunkCapacity })
        #expect(list.chunks.count > 3)

        var forward: [ByteKey] = []
        var position = list.lowerBound(ByteKey(bytes: []))
        while let key = list[position] {
            forward.append(key)
            position = list.after(position)
        }
        #expect(forward == reference)
        var backward: [ByteKey] = []
        var back = list.before(position)
        while let current = back, let key = list[current] {
            backward.append(key)
            back = list.before(current)
        }
        #expect(backward == reference.reversed())

        for _ in 0..<500 {
            let key = randomKey()
            let index = lowerBound(key)
            #expect(list[list.lowerBound(key)] == (index < reference.count ? reference[index] : nil))
        }
    }

    @Test func anEmptyListHasNoKeys() {
        var list = SortedKeyList()
        let end = list.lowerBound(ByteKey("a"))
        #expect(list[end] == nil)
        #expect(list.before(end) == nil)
        let removedFromEmpty = list.remove(ByteKey("a"))
        let inserted = list.insert(ByteKey("a"))
        let insertedAgain = list.insert(ByteKey("a"))
        let removed = list.remove(ByteKey("a"))
        #expect(!removedFromEmpty && inserted && !insertedAgain && removed)
        #expect(list.count == 0 && list.chunks.isEmpty)
    }
}
