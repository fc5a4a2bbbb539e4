// libFuzzer target: the tool executor's inputs, for every tool (the memory tool's paths
// included). The first byte picks the tool (or an unknown name), the rest is the JSON input
// (or, when it does not parse, a string). A call must produce exactly one result, must not
// touch another namespace, must not write a reserved key, and the memory tool must write only
// under /memories/.
//
// Speed: the seeded store is built once and reused by every input that leaves it as it was
// (records, versions and change log); an input that changed anything gets a freshly seeded
// store before the next one, so every input still starts from exactly the seeded state.
// Rebuilding is the only exact reset (a delete and a put again would move versions and the
// change log). Each input gets its own executor (a struct) with its own read log (a small
// actor), as before: `remember`'s notes depend on what the agent has read.
#if canImport(AgentMemoryJSON)
import AgentMemoryJSON
#endif
import AgentMemoryCore
import AgentMemoryTools
import ClaudeMessages

let fuzzNamespace = try! Namespace("fuzz")
let otherNamespace = try! Namespace("other")
let toolNames = MemoryToolKind.allCases.map(\.rawValue) + ["unknown_tool"]
let seededKeys: Set<String> = ["notes", "list", "/memories/dir/file.txt", "/memories/dir/"]

/// The store every input starts from, and what it held right after seeding.
struct SeededStore: Sendable {
    let store: InMemoryMemoryStore
    let records: [MemoryRecord]
    let otherRecords: [MemoryRecord]
    let lastSequence: Int64

    static func make() async -> SeededStore {
        let store = InMemoryMemoryStore()
        do {
            try await store.put("secret", value: "other namespace", in: otherNamespace)
            try await store.put("notes", value: "first line\nsecond line", in: fuzzNamespace)
            try await store.put("list", value: ["a", "b"], in: fuzzNamespace)
            try await store.put("/memories/dir/file.txt", value: "hello\nworld\n", in: fuzzNamespace)
            try await store.put("/memories/dir/", value: BuiltinMemoryTool.directoryMarkerValue, in: fuzzNamespace)
            let records = try await store.allRecords(in: fuzzNamespace)
            let changes = try await store.changes(in: fuzzNamespace, since: 0, limit: 1000)
            guard records.count == seededKeys.count, let last = changes.last?.sequence else { violated("seeding gave \(records)") }
            return SeededStore(
                store: store, records: records, otherRecords: try await store.allRecords(in: otherNamespace), lastSequence: last)
        } catch {
            violated("setup failed: \(error)")
        }
    }

    /// Whether the fuzz namespace is exactly as seeded, given its records now.
    func isUnchanged(records now: [MemoryRecord]) async throws -> Bool {
        guard now == records else { return false }
        return try await store.changes(in: fuzzNamespace, since: lastSequence, limit: 1).isEmpty
    }
}

/// The current seeded store; only the fuzzing thread's task touches it, one input at a time.
final class SeededStoreSlot: @unchecked Sendable {
    var current: SeededStore?
}
let seededStore = SeededStoreSlot()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzToolInputs(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = bytes(data, size)
    guard let selector = input.first else { return 0 }
    let name = toolNames[Int(selector) % toolNames.count]
    let rest = Array(input.dropFirst())
    let json = (try? JSONValue(parsing: rest)) ?? .string(String(decoding: rest, as: UTF8.self))
    runBlocking {
        let seeded: SeededStore
        if let current = seededStore.current { seeded = current } else { seeded = await SeededStore.make() }
        let store = seeded.store
        let executor = MemoryToolExecutor(store: store, namespace: fuzzNamespace, agent: "fuzzer", tools: MemoryToolKind.allCases)
        let results = await executor.execute([ToolUse(id: "toolu_fuzz", name: name, input: json), ToolUse(id: "toolu_next", name: "recall", input: ["key": "notes"])])
        if results.compactMap(\.toolResult).map(\.toolUseID) != ["toolu_fuzz", "toolu_next"] { violated("results \(results)") }
        do {
            let other = try await store.allRecords(in: otherNamespace)
            if other.count != 1 || other[0].version != 1 || other != seeded.otherRecords { violated("another namespace changed: \(other)") }
            let records = try await store.allRecords(in: fuzzNamespace)
            for record in records where !seededKeys.contains(record.key) {
                if record.key.hasPrefix("_agent_memory/") { violated("reserved key written: \(record.key)") }
                if record.key.utf8.count > 512 { violated("overlong key written") }
                // Compared as UTF-8 bytes: `String.hasPrefix` and `split` work on Characters, and a
                // separator followed by a combining mark is one Character with it (round 3 found
                // this in the harness: `/memories/` + U+06D6 failed `hasPrefix("/memories/")`).
                let bytes = Array(record.key.utf8)
                if name == "memory", !bytes.starts(with: Array("/memories/".utf8)) { violated("memory tool wrote \(record.key)") }
                if name == "memory", bytes.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false).contains(where: { $0.elementsEqual("..".utf8) }) {
                    violated("memory tool wrote \(record.key)")
                }
            }
            // The next input starts from the seeded state: keep this store only if untouched.
            seededStore.current = try await seeded.isUnchanged(records: records) ? seeded : nil
        } catch {
            violated("reading back failed: \(error)")
        }
    }
    return 0
}
