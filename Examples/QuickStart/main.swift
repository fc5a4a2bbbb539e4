import AgentMemory
import Foundation

// 1. Plain memory: any Codable value, on the default SQLite file (~/.agent-memory/memory.sqlite,
//    or $AGENT_MEMORY_HOME/memory.sqlite).
let memory = try await Memory("quick-start")
try await memory.set("user.name", "Ada")
let name: String? = try await memory.get("user.name")
print("user.name =", name ?? "nothing")

// 2. Claude's tool calls: give Claude `executor.toolDefinitions`, then answer its tool_use blocks.
let executor = memory.toolExecutor()
let response = try JSONValue(parsing: """
    {"role": "assistant", "content": [
      {"type": "tool_use", "id": "toolu_1", "name": "remember", "input": {"key": "user.editor", "value": "Vim"}},
      {"type": "tool_use", "id": "toolu_2", "name": "recall", "input": {"key": "user.editor"}}
    ]}
    """)
let results = try await executor.execute(json: response)
print(results.jsonValue.jsonString(pretty: true))
