import AgentMemoryJSON
import AgentMemory
import Foundation
import Testing

/// Inputs the fuzzers found, kept as tests (RELIABILITY.md, "Defects found").
@Suite("Fuzz regressions")
struct FuzzRegressionTests {
    /// fuzz-list-cursor, input db 98 85 ba c9 9e 74 ba c9: a key starting with a combining
    /// mark (U+06D8) made a cursor that did not decode.
    @Test("a cursor after a key that starts with a combining mark decodes to that key", arguments: ["\u{06D8}\u{FFFD}", "\u{301}a", "\u{200D}x"])
    func combiningMarkCursor(key: String) throws {
        let decoded = try ListCursor.decode(ListCursor.encode(afterKey: key))
        #expect(Array(decoded.utf8) == Array(key.utf8))
    }

    @Test("pages of one key each visit every key, even keys that start with combining marks")
    func pagingOverCombiningMarks() async throws {
        let folder = try scratchDirectory("cursor")
        defer { try? FileManager.default.removeItem(at: folder) }
        let namespace = try Namespace("cursor")
        let keys = ["\u{301}a", "\u{301}b", "\u{06D8}c", "z"]
        let stores: [any MemoryStore] = [InMemoryMemoryStore(), try SQLiteMemoryStore(path: folder.appendingPathComponent("m.sqlite").path)]
        for store in stores {
            for key in keys { try await store.put(key, value: "v", in: namespace) }
            var seen: [String] = []
            var cursor: String?
            repeat {
                let page = try await store.list(in: namespace, prefix: nil, cursor: cursor, limit: 1)
                seen += page.records.map(\.key)
                cursor = page.nextCursor
            } while cursor != nil && seen.count <= keys.count
            #expect(seen.map { Array($0.utf8) } == keys.map { Array($0.utf8) }.sorted { $0.lexicographicallyPrecedes($1) })
        }
    }
}
