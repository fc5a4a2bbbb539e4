import AgentMemoryCore
import AgentMemoryJSON
import Foundation
import Testing

/// A staged batch's prefetch: what it read is what the batch sees afterwards, present and
/// absent alike, whatever the store does meanwhile; a later prefetch adds only keys not seen.
@Suite("Staged batch prefetch")
struct StagedBatchPrefetchTests {
    static let namespace = try! Namespace("prefetch")

    @Test(arguments: [
        ["a", "b", "c"],  // every key present, each once
        ["a", "b", "a", "c"],  // every key present, one twice
        ["a", "missing", "b", "missing", "c"],  // absent keys among them
        ["missing"],
    ])
    func whatThePrefetchReadIsWhatTheBatchSees(keys: [String]) async throws {
        let store = InMemoryMemoryStore()
        for key in ["a", "b", "c"] { try await store.put(try MemoryKey(key), value: .string("first \(key)"), in: Self.namespace) }
        let batch = StagedBatch(store: store, namespace: Self.namespace, now: Date())
        try await batch.prefetch(try keys.map { try MemoryKey($0) })
        // The store changes behind the batch's back: the batch still sees what it read.
        for key in ["a", "b", "c", "missing"] {
            try await store.put(try MemoryKey(key), value: .string("second \(key)"), in: Self.namespace)
        }
        for key in Set(keys) {
            let seen = try await batch.get(try MemoryKey(key))
            #expect(seen?.value == (key == "missing" ? nil : .string("first \(key)")), "\(key)")
        }
        // A key not prefetched is read from the store as it is now; a second prefetch reads
        // only keys not seen yet.
        let unread = ["a", "b", "c"].first { !keys.contains($0) }
        try await batch.prefetch(try (keys + ["d"]).map { try MemoryKey($0) })
        #expect(try await batch.get("d") == nil)
        if let unread {
            #expect(try await batch.get(try MemoryKey(unread))?.value == .string("second \(unread)"))
        }
        #expect(try await batch.get("a")?.value == (keys.contains("a") ? .string("first a") : .string("second a")))
        // The batch's own writes override what it read, present or absent.
        try await batch.stage(.put(key: "a", value: .string("staged a"), options: .none))
        try await batch.stage(.delete(key: "b"))
        try await batch.stage(.put(key: "missing", value: .string("staged missing"), options: .none))
        #expect(try await batch.get("a")?.value == .string("staged a"))
        #expect(try await batch.get("b") == nil)
        #expect(try await batch.get("missing")?.value == .string("staged missing"))
        #expect(batch.writtenKeys == ["a": true, "b": false, "missing": true])
    }
}
