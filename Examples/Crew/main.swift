// Three agents share one namespace of one SQLite file: two writers and a read-only reviewer.
// The tool calls are the ones Claude would send; no API key is needed.
import AgentMemoryJSON
import AgentMemory
import Foundation

let file = FileManager.default.temporaryDirectory.appendingPathComponent("crew-example-\(UUID().uuidString).sqlite")
defer { try? FileManager.default.removeItem(at: file) }
let store = try SQLiteMemoryStore(path: file.path)
let team = try Namespace("team")

func agent(_ name: String, _ access: MemoryAccess) -> MemoryToolExecutor {
    MemoryToolExecutor(
        store: store, namespace: team,
        policy: AccessPolicy(agent: name, grants: [team: access]),
        tools: [.remember, .recall, .listMemory])
}
let planner = agent("planner", .readWrite)
let coder = agent("coder", .readWrite)
let reviewer = agent("reviewer", .readOnly)

func call(_ executor: MemoryToolExecutor, _ tool: String, _ input: JSONValue) async {
    let outcome = await executor.run(name: tool, input: input)
    print("\(executor.agent ?? "?") → \(tool) \(input.jsonString())")
    print("   ← \(outcome.isError ? "[error] " : "")\(outcome.text.replacingOccurrences(of: "\n", with: "\n     "))")
}

// Both writers add tasks to one shared list at the same time: nothing is lost.
await withTaskGroup(of: Void.self) { group in
    for (executor, tasks) in [(planner, ["design schema", "write migration"]), (coder, ["fix login bug", "add tests"])] {
        group.addTask {
            for task in tasks {
                await call(executor, "remember", ["key": "tasks", "value": .string(task), "mode": "append"])
            }
        }
    }
}
await call(coder, "remember", ["key": "status", "value": "migration in progress"])
// The planner overwrites a key the coder wrote after the planner last read it: Claude is told.
await call(planner, "remember", ["key": "status", "value": "waiting for review"])
// The reviewer reads everything, but may not write.
await call(reviewer, "list_memory", [:])
await call(reviewer, "recall", ["key": "tasks"])
await call(reviewer, "remember", ["key": "status", "value": "approved"])

print("\nChange log (who wrote what, in commit order):")
for change in try await store.changes(in: team, since: 0, limit: 100) {
    print("  #\(change.sequence) \(change.author ?? "-") \(change.operation) \(change.key) v\(change.version)")
}
