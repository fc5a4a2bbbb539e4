// libFuzzer target: the tool executor's inputs, for every tool (the memory tool's paths
// included). The first byte picks the tool (or an unknown name), the rest is the JSON input
// (or, when it does not parse, a string). A call must produce exactly one result, must not
// touch another namespace, must not write a reserved key, and the memory tool must write only
// under /memories/.
#if canImport(AgentMemoryJSON)
import AgentMemoryJSON
#endif
import AgentMemoryCore
import AgentMemoryTools
import ClaudeMessages

let fuzzNamespace = try! Namespace("fuzz")
let otherNamespace = try! Namespace("other")
let toolNames = MemoryToolKind.allCases.map(\.rawValue) + ["unknown_tool"]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzToolInputs(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = bytes(data, size)
    guard let selector = input.first else { return 0 }
    let name = toolNames[Int(selector) % toolNames.count]
    let rest = Array(input.dropFirst())
    let json = (try? JSONValue(parsing: rest)) ?? .string(String(decoding: rest, as: UTF8.self))
    runBlocking {
        let store = InMemoryMemoryStore()
        do {
            try await store.put("secret", value: "other namespace", in: otherNamespace)
            try await store.put("notes", value: "first line\nsecond line", in: fuzzNamespace)
            try await store.put("list", value: ["a", "b"], in: fuzzNamespace)
            try await store.put("/memories/dir/file.txt", value: "hello\nworld\n", in: fuzzNamespace)
            try await store.put("/memories/dir/", value: BuiltinMemoryTool.directoryMarkerValue, in: fuzzNamespace)
        } catch {
            violated("setup failed: \(error)")
        }
        let executor = MemoryToolExecutor(store: store, namespace: fuzzNamespace, agent: "fuzzer", tools: MemoryToolKind.allCases)
        let results = await executor.execute([ToolUse(id: "toolu_fuzz", name: name, input: json), ToolUse(id: "toolu_next", name: "recall", input: ["key": "notes"])])
        if results.compactMap(\.toolResult).map(\.toolUseID) != ["toolu_fuzz", "toolu_next"] { violated("results \(results)") }
        do {
            let other = try await store.allRecords(in: otherNamespace)
            if other.count != 1 || other[0].version != 1 { violated("another namespace changed: \(other)") }
            let before: Set<String> = ["notes", "list", "/memories/dir/file.txt", "/memories/dir/"]
            for record in try await store.allRecords(in: fuzzNamespace) where !before.contains(record.key) {
                if record.key.hasPrefix("_agent_memory/") { violated("reserved key written: \(record.key)") }
                if record.key.utf8.count > 512 { violated("overlong key written") }
                if name == "memory", !record.key.hasPrefix("/memories/") { violated("memory tool wrote \(record.key)") }
                if name == "memory", record.key.split(separator: "/").contains("..") { violated("memory tool wrote \(record.key)") }
            }
        } catch {
            violated("reading back failed: \(error)")
        }
    }
    return 0
}
